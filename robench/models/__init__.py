"""Models: spec strings -> loaded, configured models; the paper's Robust-ResNets live here too."""
from robench.models.loading import LoadedModel, load_model  # noqa: F401
from robench.models.sources import MODEL_SOURCES, Built, ModelSource  # noqa: F401
from robench.models.spec import ModelSpec, parse_spec  # noqa: F401
from robench.models.wrap import as_loaded_model  # noqa: F401
