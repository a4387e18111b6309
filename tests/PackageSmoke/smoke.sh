#!/usr/bin/env bash
# Package smoke test, as a consumer gets the packages: packs Virtualization.Core, Virtualization.Core.Hosting and the
# vm tool into a local folder feed; throwaway apps outside the solution restore them from it and
#   1. boot the QEMU test guest (TCG) in both layouts: the portable build output (runtimes/<rid>/native/vcore-exec) and
#      a RID-specific publish (vcore-exec next to the app);
#   2. boot it from a Host with services.AddVirtualization(...) and print its death reason;
#   3. run a Worker Service (a BackgroundService starts a VM that keeps running), send it SIGINT like Ctrl-C, and check
#      that the host stopped the VM (Shutdown, or Killed after the grace period) and left no QEMU behind;
#   4. `dotnet tool install` the vm tool from the same feed into a tool path and run `vm info`.
# Fails if any step fails. Usage: tests/PackageSmoke/smoke.sh  (needs QEMU and the guest image: guest/build-image.sh)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A failing step says which one (CI's log otherwise shows only that the smoke test failed).
trap 'echo "smoke: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
feed="$work/feed"; app="$work/app"; hosted="$work/hosted"
mkdir -p "$feed" "$app" "$hosted"

for project in Virtualization.Core Virtualization.Core.Hosting Virtualization.Cli; do
  dotnet pack "$repo/src/$project" -c Release -o "$feed" -p:VcoreRequireAllNativeHelpers=true >"$work/pack.log" 2>&1 \
    || { cat "$work/pack.log" >&2; echo "smoke: dotnet pack $project failed" >&2; exit 1; }
done
version=$(ls "$feed" | sed -n 's/^Virtualization\.Core\.\([0-9][^s]*\)\.nupkg$/\1/p' | sed -n 1p)
# The listing is read whole before it is searched: `unzip -l | grep -q` fails now and then under pipefail, when grep
# exits at its match and unzip's next write gets SIGPIPE.
listing=$(unzip -l "$feed/Virtualization.Core.$version.nupkg")
grep -q "runtimes/linux-x64/native/vcore-exec" <<<"$listing" || { echo "smoke: the package lacks runtimes/linux-x64/native/vcore-exec" >&2; exit 1; }
grep -q "runtimes/linux-arm64/native/vcore-exec" <<<"$listing" || { echo "smoke: the package lacks runtimes/linux-arm64/native/vcore-exec" >&2; exit 1; }
test -f "$feed/Virtualization.Core.Hosting.$version.nupkg"
test -f "$feed/Virtualization.Cli.$version.nupkg"

cat >"$work/nuget.config" <<XML
<configuration><packageSources><clear /><add key="local" value="$feed" /><add key="nuget.org" value="https://api.nuget.org/v3/index.json" /></packageSources></configuration>
XML

cat >"$app/app.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
  <ItemGroup><PackageReference Include="Virtualization.Core" Version="$version" /></ItemGroup>
</Project>
XML
cat >"$app/Program.cs" <<'CS'
using Virtualization.Core;
await using var service = new VirtualizationService(new VirtualizationServiceOptions { Vmm = VmmKind.Qemu, Acceleration = VmAcceleration.Tcg });
await using IVirtualMachine vm = await service.CreateVmAsync(new VirtualMachineRawConfig
{
    Kernel = Path.Combine(args[0], "vmlinuz"),
    Initrd = Path.Combine(args[0], "initramfs.cpio.gz"),
    Params = "quiet vcore.action=poweroff",
    MemoryMib = 256,
});
await vm.StartAsync();
Console.WriteLine($"death reason: {await vm.WaitForDeathAsync()}");
CS

# The hosted app: `boot` runs a guest that powers off from a Host; `worker` is a Worker Service whose VM keeps running
# until the host stops. Its VMs live under the folder given as the third argument (so the script can look for leftovers).
cat >"$hosted/hosted.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Virtualization.Core.Hosting" Version="$version" />
    <PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.0" />
  </ItemGroup>
</Project>
XML
cat >"$hosted/Program.cs" <<'CS'
using System.IO.Pipes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Virtualization.Core;

string mode = args[0], guest = args[1], vms = args[2];
HostApplicationBuilder builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace); // stdout is the result
builder.Services.AddVirtualization(o =>
{
    o.Vmm = VmmKind.Qemu;
    o.Acceleration = VmAcceleration.Tcg;
    o.TemporaryDirectory = vms;
});
VirtualMachineRawConfig Guest(string action) => new()
{
    Kernel = Path.Combine(guest, "vmlinuz"),
    Initrd = Path.Combine(guest, "initramfs.cpio.gz"),
    Params = "vcore.action=" + action,
    MemoryMib = 256,
};

if (mode == "boot")
{
    using IHost host = builder.Build();
    await host.StartAsync();
    IVirtualizationService service = host.Services.GetRequiredService<IVirtualizationService>();
    await using IVirtualMachine vm = await service.CreateVmAsync(Guest("poweroff"));
    await vm.StartAsync();
    Console.WriteLine($"death reason: {await vm.WaitForDeathAsync()}");
    await host.StopAsync();
    return;
}

var started = new Started();
builder.Services.AddSingleton(started);
builder.Services.AddSingleton(Guest("hang"));
builder.Services.AddHostedService<Worker>();
await builder.Build().RunAsync(); // SIGINT (Ctrl-C) stops the host, and the host stops the VM
IVirtualMachine stopped = await started.Vm.Task;
Console.WriteLine($"after shutdown: {stopped.State} {stopped.DeathReason}");

/// <summary>Hands the worker's VM to the code after RunAsync.</summary>
internal sealed class Started
{
    public TaskCompletionSource<IVirtualMachine> Vm { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Starts a VM and keeps it running; prints "vm running" once the guest is up.</summary>
internal sealed class Worker(IVirtualizationService service, VirtualMachineRawConfig config, Started started) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var console = new AnonymousPipeServerStream(PipeDirection.Out);
        var lines = new StreamReader(new AnonymousPipeClientStream(PipeDirection.In, console.ClientSafePipeHandle));
        IVirtualMachine vm = await service.CreateVmAsync(config, console, stoppingToken);
        started.Vm.SetResult(vm);
        await vm.StartAsync(stoppingToken);
        while (await lines.ReadLineAsync(stoppingToken) is { } line)
        {
            Console.Error.WriteLine("guest: " + line); // kept in worker.err, shown when the smoke test fails
            if (line.Contains("action hang", StringComparison.Ordinal))
            {
                Console.WriteLine("vm running");
                break;
            }
        }

        _ = lines.ReadToEndAsync(CancellationToken.None); // keep draining the console
        await vm.WaitForDeathAsync(stoppingToken);
    }
}
CS

guest="${VCORE_GUEST_DIR:-$repo/.guest}"
export NUGET_PACKAGES="$work/packages"   # a fresh package cache: the packages are extracted as a consumer gets them
cp "$work/nuget.config" "$app/"; cp "$work/nuget.config" "$hosted/"

# 1. Both layouts.
(cd "$app" && dotnet build -c Release -o "$work/portable" >/dev/null)
test -f "$work/portable/runtimes/linux-x64/native/vcore-exec"
portable=$("$work/portable/app" "$guest")
(cd "$app" && dotnet publish -c Release -r linux-x64 --self-contained false -o "$work/rid" >/dev/null)
test -f "$work/rid/vcore-exec"
rid=$("$work/rid/app" "$guest")
echo "portable layout: $portable"
echo "RID-specific layout: $rid"
[ "$portable" = "death reason: Shutdown" ] && [ "$rid" = "death reason: Shutdown" ]

# 2. A Host with AddVirtualization.
(cd "$hosted" && dotnet build -c Release -o "$work/hosted-bin" >/dev/null)
boot=$("$work/hosted-bin/hosted" boot "$guest" "$work/vms-boot" 2>/dev/null)
echo "AddVirtualization host: $boot"
[ "$boot" = "death reason: Shutdown" ]

# 3. A Worker Service stopped by SIGINT (what Ctrl-C sends). Its output is read line by line, no sleeping.
mkfifo "$work/worker.out"
# A hung worker is killed after 10 minutes, which ends its output and fails the check below.
timeout 600 "$work/hosted-bin/hosted" worker "$guest" "$work/vms-worker" >"$work/worker.out" 2>"$work/worker.err" &
worker=$!
exec 3<"$work/worker.out"
running=0
while IFS= read -r line <&3; do
  echo "worker: $line"
  if [ "$line" = "vm running" ]; then running=1; break; fi
done
[ "$running" = 1 ] || { echo "smoke: the worker's VM did not come up" >&2; tail -20 "$work/worker.err" >&2; exit 1; }
kill -INT "$worker"
result=""
while IFS= read -r line <&3; do
  echo "worker: $line"
  case "$line" in "after shutdown: "*) result=$line ;; esac
done
status=0; wait "$worker" || status=$?
exec 3<&-
[ "$status" = 0 ] || { echo "smoke: the worker exited with $status after SIGINT" >&2; tail -20 "$work/worker.err" >&2; exit 1; }
case "$result" in
  "after shutdown: Dead Shutdown"|"after shutdown: Dead Killed") ;;
  *) echo "smoke: the host did not stop the VM: '$result'" >&2; tail -20 "$work/worker.err" >&2; exit 1 ;;
esac
if pgrep -f "$work/vms-worker" >/dev/null; then
  echo "smoke: a VMM of the worker is still running after its host stopped" >&2; pgrep -af "$work/vms-worker" >&2; exit 1
fi
echo "Worker Service on SIGINT: ${result#after shutdown: }, no QEMU left"

# 4. The vm tool from the same feed.
(cd "$work" && dotnet tool install Virtualization.Cli --version "$version" --tool-path "$work/tools" --configfile "$work/nuget.config" >/dev/null)
"$work/tools/vm" info | tee "$work/info.txt"
grep -q "^\[ok\]      QEMU: " "$work/info.txt"
grep -q "^\[ok\]      launcher: " "$work/info.txt"
echo "package smoke: ok"
