"""SRE replay: run the pipeline on an archived or live slice of the event log, in an isolated namespace."""
