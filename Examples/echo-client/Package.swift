// swift-tools-version:6.0
import PackageDescription

// An application using wsc's library product: `swift run echo-client ws://host:port/`.
let package = Package(
  name: "echo-client",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "wsc", path: "../..")
  ],
  targets: [
    .executableTarget(
      name: "echo-client",
      dependencies: [.product(name: "WebSocketClient", package: "wsc")]
    )
  ],
  swiftLanguageModes: [.v6]
)
