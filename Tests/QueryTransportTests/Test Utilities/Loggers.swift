import Logging

/// A logger that drops everything: tests assert on behaviour and metrics, not on log lines.
func quietLogger(_ label: String) -> Logger {
    Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
}
