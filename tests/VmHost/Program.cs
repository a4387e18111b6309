// A separate host process for tests that need one: cross-process CID allocation and "VMs die with their host".
//   VmHost alloc <lockDir> <count>          allocate <count> CIDs, print them one per line, then "READY",
//                                           and hold them until stdin closes.
//   VmHost run <crosvm> <kernel> <tempDir>  start a VM from a short-lived thread, print "VMM <pid>", then wait forever.
using System.Globalization;
using Virtualization.Core;

switch (args.Length > 0 ? args[0] : string.Empty)
{
    case "alloc":
    {
        var service = new VirtualizationService(new VirtualizationServiceOptions
        {
            CidLockDirectory = args[1],
            TemporaryDirectory = Path.Combine(Path.GetTempPath(), "vmhost-" + Environment.ProcessId),
        });
        int count = int.Parse(args[2], CultureInfo.InvariantCulture);
        string kernel = Path.Combine(Path.GetTempPath(), $"vmhost-kernel-{Environment.ProcessId}");
        await File.WriteAllTextAsync(kernel, "kernel");
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
        await service.DisposeAsync();
        File.Delete(kernel);
        return 0;
    }

    case "run":
    {
        var service = new VirtualizationService(new VirtualizationServiceOptions
        {
            CrosvmPath = args[1],
            TemporaryDirectory = args[3],
            CidLockDirectory = Path.Combine(args[3], "cids"),
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
        await Console.Error.WriteLineAsync("usage: VmHost alloc <lockDir> <count> | VmHost run <crosvm> <kernel> <tempDir>");
        return 2;
}
