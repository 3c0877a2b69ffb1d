"""Tagging raw text: sentences and words with offsets (`text`), words to windows and back (`alignment`,
`collator`, `windows`), the taggers (`tagger`, `entities`, `precision`), ONNX Runtime (`onnx_backend`,
`bioner-export` in `export`), the `transformers` pipeline and the code it carries to the Hub (`pipeline`,
`remote_code`), and `bioner-tag` (`cli`) with its readers, writers and journal.

`alignment`, `collator` and `windows` are also training's path from words to model inputs and back, so that scores
and the deployed tagger cannot drift apart."""
