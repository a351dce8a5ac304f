"""Reading and indexing: files -> Documents (readers) -> Chunks (chunking) -> the index (indexing, manifest)."""
