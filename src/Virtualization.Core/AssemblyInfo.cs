using System.Runtime.Versioning;

// VMs here are Linux processes (crosvm, QEMU) driven through Linux-only facilities: AF_VSOCK, flock, setsid, pdeathsig.
[assembly: SupportedOSPlatform("linux")]
