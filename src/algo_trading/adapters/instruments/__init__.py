"""The broker's instrument master on disk: load it, and cache one copy per trading day."""

from algo_trading.adapters.instruments.master import (
    ScripMasterCache,
    load_scrip_master,
    parse_scrip_master_bytes,
)

__all__ = ["ScripMasterCache", "load_scrip_master", "parse_scrip_master_bytes"]
