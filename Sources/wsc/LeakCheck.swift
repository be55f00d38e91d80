#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// LeakSanitizer's check, run before `_exit` in an AddressSanitizer build.
///
/// wsc ends with `_exit` (threads may still be in poll(), and atexit handlers must not run
/// under them), which skips LeakSanitizer's own check at exit. In a sanitized build the
/// runtime exports `__lsan_do_recoverable_leak_check`; looking it up at run time keeps the
/// normal build free of sanitizer symbols, where the lookup finds nothing and this is a no-op.
/// `scripts/leakcheck.sh` relies on it (issue 21).
enum LeakCheck {
  static func run() {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__lsan_do_recoverable_leak_check")
    else { return }
    typealias Check = @convention(c) () -> Int32
    _ = unsafeBitCast(symbol, to: Check.self)()
  }
}
