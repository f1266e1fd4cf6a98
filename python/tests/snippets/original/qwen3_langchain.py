from typing import List

from langchain_core.embeddings import Embeddings
from sentence_transformers import SentenceTransformer


class Qwen3Embeddings(Embeddings):
    def __init__(self, model_name: str = "Qwen/Qwen3-Embedding-0.6B"):
        self.model = SentenceTransformer(model_name)

    def embed_documents(self, texts: List[str]) -> List[List[float]]:
        return self.model.encode(texts).tolist()

    def embed_query(self, text: str) -> List[float]:
        return self.model.encode([text], prompt_name="query")[0].tolist()


embeddings = Qwen3Embeddings()
doc_vectors = embeddings.embed_documents(texts)
query_vectors = [embeddings.embed_query(t) for t in texts]
