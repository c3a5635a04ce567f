"""Operations: settings, serving, benchmarks and the command line."""
