from embedkit.langchain import HuggingFaceEmbeddings
from embedkit.langchain import HuggingFaceBgeEmbeddings

embeddings = HuggingFaceEmbeddings(
    model_name="BAAI/bge-small-en-v1.5",
    model_kwargs={"device": "cpu"},
    encode_kwargs={"normalize_embeddings": True},
)
doc_vectors = embeddings.embed_documents(texts)
query_vector = embeddings.embed_query(texts[1])

bge = HuggingFaceBgeEmbeddings(
    model_name="BAAI/bge-small-en-v1.5",
    model_kwargs={"device": "cpu"},
    encode_kwargs={"normalize_embeddings": True},
    query_instruction="Represent this sentence for searching relevant passages: ",
)
bge_doc_vectors = bge.embed_documents(texts)
bge_query_vectors = [bge.embed_query(t) for t in texts]
