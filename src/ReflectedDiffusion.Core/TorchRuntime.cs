using System.Runtime.InteropServices;

namespace ReflectedDiffusion;

/// <summary>
/// Process-wide native settings this library needs, applied once before the first network is built or trained.
/// </summary>
/// <remarks>
/// <para><b>glibc allocator thresholds.</b> With glibc's defaults, freed heap top is returned to the kernel and large
/// blocks come from fresh mmap, so every step page-faults its megabyte-sized tensors in again: measured here 3 to 5
/// times slower kernel evaluation, mostly system time. Raising the trim and mmap thresholds keeps that memory for
/// reuse; blocks above glibc's largest mmap threshold (32 MiB: a U-Net batch's activations and unfolded inputs) are
/// served from the heap too (<c>M_MMAP_MAX = 0</c>): U-Net training went from 21 to 86 samples/s, 16 million page
/// faults to 0.7 million (<c>train-speed</c>). Set <c>RDIFF_NO_MALLOC_TUNING=1</c> to leave the allocator alone.</para>
/// <para><b>oneDNN off on the CPU.</b> libtorch-cpu 2.10's oneDNN convolutions gave wrong float32 and bfloat16 gradients
/// on an AVX-512 machine (relative errors 0.3 to 0.7 at batch 2; <c>conv2d-check</c> benchmark), results that varied
/// from run to run, and a test process that hung inside a oneDNN reorder; with oneDNN off, libtorch's own conv2d was
/// right in all 32 cases. oneDNN serves only the convolutions here (matrix products go to BLAS), so it is switched off
/// for the process; <c>RDIFF_ONEDNN=1</c> leaves it on.</para>
/// </remarks>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _configured;

    /// <summary>True when the glibc allocator thresholds were raised in this process.</summary>
    public static bool AllocatorTuned { get; private set; }

    /// <summary>Applies the settings (idempotent, thread-safe). Called by the networks and the trainer.</summary>
    public static void EnsureConfigured()
    {
        if (_configured) return;
        lock (Gate)
        {
            if (_configured) return;
            if (OperatingSystem.IsLinux())
            {
                if (Environment.GetEnvironmentVariable("RDIFF_NO_MALLOC_TUNING") != "1") AllocatorTuned = TuneAllocator();
            }
            if (Environment.GetEnvironmentVariable("RDIFF_ONEDNN") != "1") TrySetOneDnn(false);
            _configured = true;
        }
    }

    /// <summary>
    /// Returns freed native heap memory to the kernel (glibc's <c>malloc_trim</c>, which walks every per-thread arena);
    /// a no-op elsewhere. The allocator tuning keeps freed blocks for speed, and libtorch's worker threads each free into
    /// their own arena, so a long stream of batches would otherwise hold the largest batch's memory once per arena.
    /// </summary>
    public static void ReleaseFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || _trimUnavailable) return;
        try { Glibc.malloc_trim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { _trimUnavailable = true; }
    }

    private static bool _trimUnavailable;

    /// <summary>
    /// Whether libtorch may use oneDNN (mkldnn) on the CPU (<c>at::Context::userEnabledMkldnn</c>); null where the
    /// native library does not export the setting (another platform or build).
    /// </summary>
    public static bool? OneDnnEnabled
    {
        get
        {
            try { return LibTorch.GetMkldnn(LibTorch.GlobalContext()); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
        }
        set
        {
            if (value is { } enabled && !TrySetOneDnn(enabled))
                throw new PlatformNotSupportedException("This libtorch build does not export at::Context::setUserEnabledMkldnn.");
        }
    }

    private static bool TrySetOneDnn(bool enabled)
    {
        try
        {
            LibTorch.SetMkldnn(LibTorch.GlobalContext(), enabled);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private static bool TuneAllocator()
    {
        const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3, M_MMAP_MAX = -4;
        try
        {
            bool ok = Glibc.mallopt(M_MMAP_THRESHOLD, 32 << 20) != 0;  // 32 MiB: glibc's largest allowed value
            // Blocks over that threshold (a U-Net batch's 100 MB activations) would still come from fresh mmap and
            // fault in page by page on every step: serve them from the heap too.
            ok &= Glibc.mallopt(M_MMAP_MAX, 0) != 0;
            ok &= Glibc.mallopt(M_TRIM_THRESHOLD, 1 << 30) != 0;       // keep up to 1 GiB of freed heap
            ok &= Glibc.mallopt(M_TOP_PAD, 64 << 20) != 0;             // grow the heap in 64 MiB strides
            return ok;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc: nothing to tune
        }
    }

    // at::globalContext() and its mkldnn switch: C++ symbols of libtorch_cpu that TorchSharp does not wrap.
    private static class LibTorch
    {
        [DllImport("libtorch_cpu.so", EntryPoint = "_ZN2at13globalContextEv")]
        public static extern IntPtr GlobalContext();

        [DllImport("libtorch_cpu.so", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
        public static extern void SetMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport("libtorch_cpu.so", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
        [return: MarshalAs(UnmanagedType.U1)]
        public static extern bool GetMkldnn(IntPtr context);
    }

    private static class Glibc
    {
        [DllImport("libc", EntryPoint = "mallopt")]
        public static extern int mallopt(int param, int value);

        [DllImport("libc", EntryPoint = "malloc_trim")]
        public static extern int malloc_trim(nuint pad);
    }
}
