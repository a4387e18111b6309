// Tests that spawn processes share the 2-core CI machine; keep collections parallel but bounded.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]
