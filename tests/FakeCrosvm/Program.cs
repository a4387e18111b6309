// Entry point of the fake crosvm used by the Virtualization.Core tests.
// See docs/fake-crosvm.md for the grammar it enforces and the scenario keys it understands.
return FakeCrosvm.Cli.CommandDispatcher.Run(args);
