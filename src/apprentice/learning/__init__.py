"""The engine gets cheaper as it learns (issue 14): request classes, learned routing, a solution library.

Design:
- **Request classes** (`requests.py`). A request (shape, spec, N, instructions) is counted into
  `RequestFeatures` on the same schema walk as complexity routing, bucketed into a readable class
  key (`flat·small·text-heavy·formats`) and turned into a sparse lexical vector. No embedding
  model: field names, formats, kinds and hint words carry what tells two requests apart, need no
  download and cost microseconds; `bench/learning.py` measures the library's hit rate with it.
"""

from apprentice.learning.requests import RequestFeatures, class_of, features_of, representation, similarity

__all__ = ["RequestFeatures", "class_of", "features_of", "representation", "similarity"]
