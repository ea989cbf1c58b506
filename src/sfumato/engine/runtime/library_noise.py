"""Keep diffusers'/transformers' load-time progress bars and advisories out of our output:
the server logs and the CLI's own progress bar are what a user should read."""

from __future__ import annotations

import warnings


def quiet_ml_libraries() -> None:
    """Call before the pipelines are imported: some advisories print at import time."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()

    from diffusers.utils import logging as diffusers_logging
    from huggingface_hub.utils import disable_progress_bars

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    disable_progress_bars()
    warnings.filterwarnings("ignore", category=FutureWarning, module="diffusers")
