import Synchronization
import Testing

@testable import WebSocketClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `wsc -l 127.0.0.1:0 --once …` run as a subprocess: the real server the async API is tested
/// against. Its stdin is a pipe the test writes to, stderr a pipe it reads (the "listening
/// on" and "client N disconnected" lines), stdout is discarded. Every wait has a deadline.
final class WscServer {
  let pid: pid_t
  let port: Int
  private let stdinFD: Int32
  private let stderrFD: Int32
  /// All of stderr read so far.
  private(set) var log = ""

  /// The wsc built by `swift build`, found from this file's place in the package.
  static var binary: String {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/WebSocketClientTests/WscServer.swift
    return parts.joined(separator: "/") + "/.build/debug/wsc"
  }

  /// Starts `wsc -l 127.0.0.1:0` with `arguments` and waits for its "listening on" line.
  init(_ arguments: [String] = ["--echo"]) throws {
    signal(SIGPIPE, SIG_IGN)  // writing to a server that already exited must not kill the tests
    let path = Self.binary
    try #require(access(path, X_OK) == 0, "\(path) is missing: run `swift build` first")
    var input: [Int32] = [-1, -1]
    var errors: [Int32] = [-1, -1]
    try #require(pipe(&input) == 0 && pipe(&errors) == 0)
    // Only the child's ends reach the child (through dup2); parallel spawns must not leak
    // the test's ends into other servers, or those would never see the end of their stdin.
    for fd in input + errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, input[0], 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
    // --once: the server exits when its client leaves, even if this process is killed
    // before `stop()`.
    let argv = ([path, "-l", "127.0.0.1:0", "--once"] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var child = pid_t()
    let rc = posix_spawn(&child, path, &actions, nil, argv, environ)
    _ = close(input[0])
    _ = close(errors[1])
    try #require(rc == 0, "posix_spawn: \(rc)")
    pid = child
    stdinFD = input[1]
    stderrFD = errors[0]
    var found: Int?
    let deadline = MonotonicClock.now() + 10
    var log = ""
    while found == nil, let more = Self.read(stderrFD, until: deadline) {
      log += more
      if let line = log.split(separator: "\n").first(where: { $0.hasPrefix("listening on ws://127.0.0.1:") })
      {
        found = Int(line.dropFirst("listening on ws://127.0.0.1:".count).prefix { $0.isNumber })
      }
    }
    self.log = log
    guard let found else {
      kill(child, SIGKILL)
      _ = waitpid(child, nil, 0)
      throw ServerFailure(description: "wsc -l did not say where it listens: \(log)")
    }
    port = found
  }

  deinit {
    stop()
    _ = close(stdinFD)
    _ = close(stderrFD)
  }

  var url: String { "ws://127.0.0.1:\(port)/" }

  /// Writes `text` to the server's stdin (a line it broadcasts, or a `--jsonl-input` command).
  func write(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
      let n = bytes.withUnsafeBytes { Glibc.write(stdinFD, $0.baseAddress, $0.count) }
      if n <= 0 { return }
      bytes = bytes.dropFirst(n)
    }
  }

  /// Waits until stderr contains `text`; false after `timeout` seconds.
  func waitForLog(_ text: String, timeout: Double = 10) -> Bool {
    let deadline = MonotonicClock.now() + timeout
    while !log.contains(text) {
      guard let more = Self.read(stderrFD, until: deadline) else { return false }
      log += more
    }
    return true
  }

  /// Sends `signal` and reaps the process (SIGKILL after 5 s).
  func stop(_ signal: Int32 = SIGTERM) {
    guard kill(pid, 0) == 0 else { return }
    kill(pid, signal)
    let deadline = MonotonicClock.now() + 5
    var status: Int32 = 0
    while waitpid(pid, &status, WNOHANG) == 0 {
      if MonotonicClock.now() > deadline {
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
        return
      }
      usleep(10_000)
    }
  }

  /// What `fd` has before `deadline`; nil at the deadline or the end of the pipe.
  private static func read(_ fd: Int32, until deadline: Double) -> String? {
    let remaining = deadline - MonotonicClock.now()
    guard remaining > 0 else { return nil }
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, Int32(remaining * 1000)) > 0 else { return nil }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
    return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
  }
}

struct ServerFailure: Error, CustomStringConvertible {
  var description: String
}

/// The test failed to finish in time.
struct TimedOut: Error, CustomStringConvertible {
  var description: String
}

/// Runs `body`, throwing `TimedOut` after `seconds`: no test can hang. The body is
/// cancelled then, but not waited for, so one that ignores cancellation cannot hang either.
func withTimeout<T: Sendable>(
  _ seconds: Double, _ what: String = "the test", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
  let once = ResumeOnce<T>()
  return try await withCheckedThrowingContinuation { continuation in
    once.install(continuation)
    let work = Task {
      do { once.resume(with: .success(try await body())) } catch { once.resume(with: .failure(error)) }
    }
    let timer = Task {
      try? await Task.sleep(for: .seconds(seconds))
      if Task.isCancelled { return }
      work.cancel()
      once.resume(with: .failure(TimedOut(description: "\(what) did not finish in \(seconds) s")))
    }
    once.onResume = { timer.cancel() }
  }
}

/// A continuation resumed by whichever of the body and the timer finishes first.
private final class ResumeOnce<T: Sendable>: Sendable {
  private struct State {
    var continuation: CheckedContinuation<T, any Error>?
    var onResume: (@Sendable () -> Void)?
  }
  private let state = Mutex(State())

  func install(_ continuation: CheckedContinuation<T, any Error>) {
    state.withLock { $0.continuation = continuation }
  }

  var onResume: (@Sendable () -> Void)? {
    get { state.withLock { $0.onResume } }
    set { state.withLock { $0.onResume = newValue } }
  }

  func resume(with result: Result<T, any Error>) {
    let (continuation, onResume) = state.withLock { state in
      defer { state.continuation = nil }
      return (state.continuation, state.onResume)
    }
    guard let continuation else { return }
    onResume?()
    continuation.resume(with: result)
  }
}
