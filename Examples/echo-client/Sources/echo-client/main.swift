import WebSocketClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Connects to the URL given, sends "hello", prints the first message that comes back
/// (an echo server's answer) and closes: the async API end to end.

func fail(_ text: String, status: Int32) -> Never {
  let line = Array("echo-client: \(text)\n".utf8)
  _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
  exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else { fail("usage: echo-client ws://host:port/path", status: 64) }

do {
  let socket = try await WebSocket.connect(arguments[1])
  try await socket.send(text: "hello")
  for try await message in socket.messages {
    print(message.text)
    break
  }
  await socket.close()
} catch {
  fail("\(error)", status: 1)
}
