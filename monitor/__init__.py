"""The application shell: configuration, storage, scheduling, network and disk I/O."""
