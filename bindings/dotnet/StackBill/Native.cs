// The P/Invoke declarations of stackbill_ffi (bindings/dotnet/ffi/stackbill.h) and the
// UTF-8 marshalling around them: strings go in as NUL-terminated UTF-8 bytes, results come
// back as library-owned pointers that are copied and released with sb_free at once.
using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace StackBill
{
    internal static class Native
    {
        private const string Library = "stackbill_ffi";

        /// <summary>The ABI this assembly was written against (SB_ABI_VERSION).</summary>
        internal const uint AbiVersion = 3;
        internal const int Ok = 0;
        internal const int Error = 1;

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern uint sb_abi_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern void sb_free(IntPtr s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern UIntPtr sb_utf16_len(IntPtr s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern unsafe int sb_utf16_copy(IntPtr s, char* dst, UIntPtr units);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern int sb_rate(byte[] scenarioJson, byte[] usagePath, out IntPtr result);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern int sb_estimate(byte[] scenarioJson, byte[] quotesJson, out IntPtr result);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern int sb_increase_rate(byte[] rate, byte[] kind, byte[] amount, out IntPtr result);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern int sb_can(byte[] requestJson, out IntPtr result);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern int sb_can_grant(byte[] requestJson, out IntPtr result);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern int sb_names(out IntPtr result);

        static Native()
        {
            RegisterResolver();
        }

        /// <summary>
        /// On CoreCLR (PowerShell 7), resolves the native library next to this assembly: a
        /// module's directory is not on the host's probing path. Reflection keeps the
        /// assembly buildable against .NET Framework 4.x, where mono probes the assembly's
        /// directory by itself and NativeLibrary does not exist.
        /// </summary>
        private static void RegisterResolver()
        {
            Type nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary");
            Type resolverType = Type.GetType("System.Runtime.InteropServices.DllImportResolver");
            if (nativeLibrary == null || resolverType == null) return;
            MethodInfo set = nativeLibrary.GetMethod("SetDllImportResolver", new[] { typeof(Assembly), resolverType });
            MethodInfo resolve = typeof(Native).GetMethod("Resolve", BindingFlags.NonPublic | BindingFlags.Static);
            if (set == null || resolve == null) return;
            try
            {
                set.Invoke(null, new object[] { typeof(Native).Assembly, Delegate.CreateDelegate(resolverType, resolve) });
            }
            catch (TargetInvocationException)
            {
                // A resolver is already registered for this assembly (loaded twice): keep it.
            }
        }

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (name != Library) return IntPtr.Zero;
            string dir = Path.GetDirectoryName(assembly.Location);
            if (string.IsNullOrEmpty(dir)) return IntPtr.Zero;
            Type nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary");
            MethodInfo load = nativeLibrary == null ? null : nativeLibrary.GetMethod("Load", new[] { typeof(string) });
            foreach (string file in new[] { "libstackbill_ffi.so", "libstackbill_ffi.dylib", "stackbill_ffi.dll" })
            {
                string full = Path.Combine(dir, file);
                if (load != null && File.Exists(full)) return (IntPtr)load.Invoke(null, new object[] { full });
            }
            // Not next to the assembly: the runtime's own probing decides.
            return IntPtr.Zero;
        }

        private static readonly object Checked = new object();
        private static bool abiChecked;

        private static void CheckAbi()
        {
            lock (Checked)
            {
                if (abiChecked) return;
                uint found = sb_abi_version();
                if (found != AbiVersion)
                {
                    throw new StackBillException("StackBillError",
                        "stackbill_ffi speaks ABI " + found + ", this assembly ABI " + AbiVersion + ": rebuild them together");
                }
                abiChecked = true;
            }
        }

        /// <summary>NUL-terminated UTF-8, or null for a null string.</summary>
        private static byte[] Utf8(string s)
        {
            if (s == null) return null;
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
            Encoding.UTF8.GetBytes(s, 0, s.Length, bytes, 0);
            return bytes;
        }

        /// <summary>Copies and frees a string the library returned.</summary>
        private static unsafe string Take(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            try
            {
                // The library writes its text as UTF-16 straight into a new string of the
                // right length: one native pass, no intermediate buffer. On an 18 MB
                // rating, reading bytes one by one (Marshal.ReadByte) cost more than the
                // rating, and a byte[] copy plus the managed UTF-8 decoder cost 10 % of it.
                ulong units = sb_utf16_len(p).ToUInt64();
                if (units == 0) return string.Empty;
                if (units > int.MaxValue) throw new StackBillException("StackBillError", "result of " + units + " characters is too large for a .NET string");
                // A fresh string no other code has seen yet: filling it in place is safe.
                string text = new string('\0', (int)units);
                fixed (char* dst = text)
                {
                    if (sb_utf16_copy(p, dst, (UIntPtr)units) != Ok)
                        throw new StackBillException("StackBillError", "stackbill_ffi could not copy its result");
                }
                return text;
            }
            finally
            {
                sb_free(p);
            }
        }

        private delegate int Call(out IntPtr result);

        /// <summary>Runs one call: the result text, or the error document as an exception.</summary>
        private static string Run(Call call)
        {
            CheckAbi();
            IntPtr result;
            int status = call(out result);
            string text = Take(result);
            if (status == Ok && text != null) return text;
            if (status == Error && text != null) throw StackBillException.FromDocument(text);
            throw new StackBillException("StackBillError", "stackbill_ffi returned status " + status);
        }

        internal static string Rate(string scenarioJson, string usagePath)
        {
            byte[] s = Utf8(scenarioJson), u = Utf8(usagePath);
            return Run((out IntPtr r) => sb_rate(s, u, out r));
        }

        internal static string Estimate(string scenarioJson, string quotesJson)
        {
            byte[] s = Utf8(scenarioJson), q = Utf8(quotesJson);
            return Run((out IntPtr r) => sb_estimate(s, q, out r));
        }

        internal static string IncreaseRate(string rate, string kind, string amount)
        {
            byte[] r0 = Utf8(rate), k = Utf8(kind), a = Utf8(amount);
            return Run((out IntPtr r) => sb_increase_rate(r0, k, a, out r));
        }

        internal static string Can(string requestJson)
        {
            byte[] q = Utf8(requestJson);
            return Run((out IntPtr r) => sb_can(q, out r));
        }

        internal static string CanGrant(string requestJson)
        {
            byte[] q = Utf8(requestJson);
            return Run((out IntPtr r) => sb_can_grant(q, out r));
        }

        internal static string Names()
        {
            return Run((out IntPtr r) => sb_names(out r));
        }
    }
}
