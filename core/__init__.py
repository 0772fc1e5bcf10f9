"""The bottom layer: what every process shares (settings, database sessions, time,
signing, data-file loading, the text catalogue). It imports nothing of the desk's own."""
