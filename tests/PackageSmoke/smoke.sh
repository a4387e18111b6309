#!/usr/bin/env bash
# Package smoke test: packs Virtualization.Core, then a throwaway app outside the solution restores it from a local
# folder feed and boots the QEMU test guest (TCG) in both layouts a consumer gets: the portable build output
# (runtimes/<rid>/native/vcore-exec) and a RID-specific publish (vcore-exec next to the app). Prints the death reasons.
# Usage: tests/PackageSmoke/smoke.sh  (needs QEMU and the guest image: guest/build-image.sh)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
feed="$work/feed"; app="$work/app"
mkdir -p "$feed" "$app"

dotnet pack "$repo/src/Virtualization.Core" -c Release -o "$feed" -p:VcoreRequireAllNativeHelpers=true >/dev/null
version=$(ls "$feed" | sed -n 's/^Virtualization\.Core\.\([0-9][^s]*\)\.nupkg$/\1/p' | head -1)
unzip -l "$feed/Virtualization.Core.$version.nupkg" | grep -q "runtimes/linux-x64/native/vcore-exec"
unzip -l "$feed/Virtualization.Core.$version.nupkg" | grep -q "runtimes/linux-arm64/native/vcore-exec"

cat >"$app/app.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
  <ItemGroup><PackageReference Include="Virtualization.Core" Version="$version" /></ItemGroup>
</Project>
XML
cat >"$app/nuget.config" <<XML
<configuration><packageSources><clear /><add key="local" value="$feed" /><add key="nuget.org" value="https://api.nuget.org/v3/index.json" /></packageSources></configuration>
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
guest="${VCORE_GUEST_DIR:-$repo/.guest}"
export NUGET_PACKAGES="$work/packages"   # a fresh package cache: the package is extracted as a consumer gets it
(cd "$app" && dotnet build -c Release -o "$work/portable" >/dev/null)
test -f "$work/portable/runtimes/linux-x64/native/vcore-exec"
portable=$("$work/portable/app" "$guest")
(cd "$app" && dotnet publish -c Release -r linux-x64 --self-contained false -o "$work/rid" >/dev/null)
test -f "$work/rid/vcore-exec"
rid=$("$work/rid/app" "$guest")
echo "portable layout: $portable"
echo "RID-specific layout: $rid"
[ "$portable" = "death reason: Shutdown" ] && [ "$rid" = "death reason: Shutdown" ]
