"""One file per Google Cloud concern; TaskWorker wires them together."""
