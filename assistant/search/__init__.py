"""Finding passages: embeddings, the vector store (Chroma), BM25 and the glossary, hybrid retrieval."""
