"""The compiler: load, validate, compile, plan, apply and export spec files."""
