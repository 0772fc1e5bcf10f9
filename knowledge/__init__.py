"""The desk's knowledge: topics, languages, the FAQ corpus and its retriever."""
