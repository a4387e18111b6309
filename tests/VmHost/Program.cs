// A separate host process for tests that need one: cross-process (and cross-user) CID allocation and "VMs die with
// their host".
//   VmHost alloc <cidNamespace> <tempDir> <count> [<first> <last>]
//                                           create <count> VMs (CIDs <first>..<last>, default 10..65535) in CID namespace
//                                           <cidNamespace> with <tempDir> as TemporaryDirectory, print their CIDs one per
//                                           line, then "READY", and hold them until stdin closes. Every other option keeps
//                                           its default.
//   VmHost run <crosvm> <kernel> <tempDir>  start a VM from a short-lived thread, print "VMM <pid>", then wait forever
//                                           (in a CID namespace of its own).
using System.Globalization;
using Virtualization.Core;

switch (args.Length > 0 ? args[0] : string.Empty)
{
    case "alloc":
    {
        var options = new VirtualizationServiceOptions { Vmm = VmmKind.Crosvm, CidNamespace = args[1], TemporaryDirectory = args[2] };
        if (args.Length >= 6)
        {
            options = options with
            {
                FirstGuestCid = int.Parse(args[4], CultureInfo.InvariantCulture),
                LastGuestCid = int.Parse(args[5], CultureInfo.InvariantCulture),
            };
        }

        var service = new VirtualizationService(options);
        int count = int.Parse(args[3], CultureInfo.InvariantCulture);
        string kernel = Path.Combine(Path.GetTempPath(), $"vmhost-kernel-{Environment.ProcessId}");
        await File.WriteAllTextAsync(kernel, "kernel");
        try
        {
            var vms = new List<IVirtualMachine>();
            for (int i = 0; i < count; i++)
            {
                vms.Add(await service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel }));
            }

            foreach (IVirtualMachine vm in vms)
            {
                Console.WriteLine(vm.Cid.ToString(CultureInfo.InvariantCulture));
            }

            Console.WriteLine("READY");
            Console.Out.Flush();
            await Console.In.ReadToEndAsync();
        }
        finally
        {
            await service.DisposeAsync();
            File.Delete(kernel);
        }

        return 0;
    }

    case "run":
    {
        var service = new VirtualizationService(new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm,
            CrosvmPath = args[1],
            TemporaryDirectory = args[3],
            CidNamespace = "vmhost-" + Environment.ProcessId,
        });

        // Create and start from a thread that exits right after: the VMM must outlive it.
        IVirtualMachine? vm = null;
        var thread = new Thread(() =>
        {
            vm = service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = args[2] }).GetAwaiter().GetResult();
            vm.StartAsync().GetAwaiter().GetResult();
        });
        thread.Start();
        thread.Join();
        int pid = service.DebugListVms()[0].ProcessId ?? -1;
        Console.WriteLine($"VMM {pid}");
        Console.Out.Flush();
        await Task.Delay(Timeout.Infinite);
        return 0;
    }

    default:
        await Console.Error.WriteLineAsync("usage: VmHost alloc <cidNamespace> <tempDir> <count> [<first> <last>] | VmHost run <crosvm> <kernel> <tempDir>");
        return 2;
}
