"""The repository tools' code; each executable in tools/ is a thin wrapper."""
