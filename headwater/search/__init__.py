"""Permission-filtered search over the index: the asking user's principals, hybrid retrieval (BM25 +
vectors fused by reciprocal rank), one hit per record with a highlighted snippet and its location.

`service.SearchService` is what the CLI and the API call; the pieces are separate modules so that each
can be tested alone: `principals` (who the user acts as), `fusion` (reciprocal rank fusion),
`snippets` (highlighting).
"""
