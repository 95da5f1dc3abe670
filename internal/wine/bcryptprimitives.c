/*
 * bcryptprimitives.dll for Wine 8.0, which lacks ProcessPrng: the Go
 * runtime (1.24 and later) takes its random bytes from it on Windows and
 * dies at start without it. ProcessPrng is RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. Windows has its own DLL: this one is
 * only ever copied into a Wine prefix, by run.sh.
 *
 * x86_64-w64-mingw32-gcc -shared -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng fills buf with len random bytes; it always succeeds, as
 * Windows' does. RtlGenRandom takes a ULONG, so big requests go in parts. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE buf, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(buf, n))
			return FALSE;
		buf += n;
		len -= n;
	}
	return TRUE;
}
