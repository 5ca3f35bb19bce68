"""The trade config (issue #10, items 1 and 2): the issue's example and the shipped example are
valid; each kind of mistake is one ConfigError line naming the file, the key path and the
problem; live trading needs mode, confirmation and credentials, each refused by name."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from algo_trading.adapters.secrets import EnvSecretStore
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.instruments import Exchange
from algo_trading.domain.orders import ProductType
from algo_trading.services.live_gate import check_live, secret_store_for
from algo_trading.services.settings import Settings, load_settings
from algo_trading.services.trade_config import (
    TradeConfig,
    default_master,
    load_trade_config,
    parse_trade_config,
)
from algo_trading.strategy import BUILTIN_STRATEGIES
from tests.support.trade_configs import BAD_CONFIGS, EXAMPLE, BadConfig, edited

# Any fixed day: the session times and the simulator's contracts are those of this day.
TODAY = dt.date(2026, 12, 2)
REPO = Path(__file__).resolve().parents[3]
CREDENTIALS = {
    "ALGO_ANGELONE_API_KEY": "test-api-key",
    "ALGO_ANGELONE_CLIENT_CODE": "T0000",
    "ALGO_ANGELONE_MPIN": "0000",
    "ALGO_ANGELONE_TOTP_SECRET": "TESTTOTPSECRETNOTREAL234567ABCDE",
}
LIVE = edited('mode = "paper"', 'mode = "live"', edited('kind = "simulator"', 'kind = "angelone"'))
LIVE = LIVE.replace('url = "http://127.0.0.1:8765"', "")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ALGO_"):
            monkeypatch.delenv(key)


def parse(text: str, tmp_path: Path, settings: Settings | None = None) -> TradeConfig:
    return parse_trade_config(
        text,
        source="trade.toml",
        base_dir=tmp_path,
        today=TODAY,
        settings=settings or Settings(),
    )


# --- valid configs -------------------------------------------------------------------------


def test_the_issues_example_is_valid_and_read_exactly(tmp_path: Path) -> None:
    config = parse(EXAMPLE, tmp_path)
    assert config.mode == "paper"
    assert (config.broker.kind, config.broker.url) == ("simulator", "http://127.0.0.1:8765")
    (s,) = config.strategies
    assert (s.id, s.strategy_class) == ("sma-sbin", BUILTIN_STRATEGIES["sma_crossover"])
    assert (s.params.fast, s.params.slow, s.params.allow_short) == (5, 20, False)
    assert [i.symbol for i in s.instruments] == ["SBIN-EQ"]
    assert (s.exchange, s.product, s.quantity, s.bar_minutes) == (
        Exchange.NSE,
        ProductType.INTRADAY,
        1,
        1,
    )
    assert config.risk.max_daily_loss_paise == 5000_00
    assert config.risk.max_order_value_paise is None


def test_the_shipped_example_is_valid(tmp_path: Path) -> None:
    config = load_trade_config(REPO / "examples" / "paper.toml", today=TODAY, settings=Settings())
    assert config.mode == "paper"
    assert len(config.strategies) >= 2
    # Every limit the example documents is read (none left at "no limit").
    assert all(v is not None for v in vars_of(config.risk).values())


def vars_of(obj: object) -> dict[str, object]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}  # type: ignore[attr-defined]


def test_money_is_exact_rupees_to_paise_never_through_a_float(tmp_path: Path) -> None:
    text = EXAMPLE + textwrap.dedent(
        """\
        max_order_value_rupees = 100000.05
        max_gross_exposure_rupees = "250000.10"
        max_drawdown_rupees = 0.01
        max_price_distance_percent = 2.5
        """
    )
    risk = parse(text, tmp_path).risk
    assert risk.max_order_value_paise == 100_000_05
    assert risk.max_gross_exposure_paise == 250_000_10
    assert risk.max_drawdown_paise == 1
    assert risk.max_price_distance_bps == 250


def test_a_strategy_has_its_own_limits_and_window(tmp_path: Path) -> None:
    text = edited(
        "[risk]\n",
        "[strategies.risk]\nmax_open_orders = 2\ntrading_start = 09:30:00\n"
        'trading_end = "15:00"\n[risk]\n',
    )
    (s,) = parse(text, tmp_path).strategies
    assert s.risk.max_open_orders == 2
    assert (s.risk.trading_start, s.risk.trading_end) == (dt.time(9, 30), dt.time(15, 0))


def test_futures_trade_in_whole_lots_of_the_masters_lot_size(tmp_path: Path) -> None:
    future = next(i for i in default_master(TODAY) if i.symbol.startswith("NIFTY") and i.expiry)
    text = edited('symbols = ["SBIN-EQ"]', f'symbols = ["{future.symbol}"]')
    text = edited('exchange = "NSE"', 'exchange = "NFO"', text)
    good = parse(edited("quantity = 1", f"quantity = {2 * future.lot_size}", text), tmp_path)
    assert good.strategies[0].quantity == 2 * future.lot_size
    with pytest.raises(ConfigError, match=r"strategies\[0\]\.quantity: 1 is not whole lots"):
        parse(text, tmp_path)
    with pytest.raises(ConfigError, match=r"strategies\[0\]\.product: \"delivery\" is for cash"):
        parse(edited('product = "intraday"', 'product = "delivery"', text), tmp_path)


def test_a_strategy_file_is_found_from_the_configs_folder(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(
        textwrap.dedent(
            """\
            from dataclasses import dataclass
            from decimal import Decimal

            from algo_trading.strategy import Strategy


            @dataclass(frozen=True)
            class MineParams:
                band: Decimal = Decimal("1.5")
                label: str = "x"


            class Mine(Strategy):
                name = "mine"
                Params = MineParams
            """
        )
    )
    text = edited('strategy = "sma_crossover"', 'strategy = "mine.py:Mine"')
    text = edited("params = { fast = 5, slow = 20 }", 'params = { band = 0.25, label = "y" }', text)
    (s,) = parse(text, tmp_path).strategies
    assert s.params.band == Decimal("0.25")
    assert s.params.label == "y"
    text = edited("band = 0.25", "band = true", text)
    with pytest.raises(ConfigError, match=r"params\.band: must be a number, not a boolean"):
        parse(text, tmp_path)


def test_a_strategy_file_that_fails_with_a_long_message_is_still_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "noisy.py").write_text('raise ValueError("first line\\nsecond line")\n')
    text = edited('strategy = "sma_crossover"', 'strategy = "noisy.py"')
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path)
    line = str(caught.value)
    assert line.startswith("trade.toml: strategies[0].strategy: strategy file ")
    assert line.endswith("ValueError while loading: first line second line")


USER_PARAMS = """\
from dataclasses import dataclass

from algo_trading.strategy import Strategy


class NotADataclass(Strategy):
    name = "not_a_dataclass"
    Params = dict


@dataclass(frozen=True)
class Fussy:
    n: int = 1

    def __post_init__(self):
        1 / (self.n - 2)


class FussyStrategy(Strategy):
    name = "fussy"
    Params = Fussy
"""


@pytest.mark.parametrize(
    ("ref", "params", "expected"),
    [
        ("user.py:NotADataclass", "{}", "strategy: not_a_dataclass: its Params is not a dataclass"),
        ("user.py:FussyStrategy", "{ n = 2 }", "params: fussy: ZeroDivisionError while building"),
    ],
)
def test_a_user_strategy_whose_params_misbehave_is_one_line(
    tmp_path: Path, ref: str, params: str, expected: str
) -> None:
    (tmp_path / "user.py").write_text(USER_PARAMS)
    text = edited('strategy = "sma_crossover"', f'strategy = "{ref}"')
    text = edited("params = { fast = 5, slow = 20 }", f"params = {params}", text)
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path)
    assert str(caught.value).startswith(f"trade.toml: strategies[0].{expected}")


def test_the_broker_comes_from_the_settings_when_the_file_names_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = 'mode = "paper"\n' + EXAMPLE[EXAMPLE.index("[[strategies]]") :]
    assert parse(text, tmp_path).broker.url == "http://127.0.0.1:8765"
    monkeypatch.setenv("ALGO_BROKER_URL", "https://sim.example.com")
    assert parse(text, tmp_path, load_settings()).broker.url == "https://sim.example.com"


def test_the_file_and_the_environment_must_agree_on_the_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALGO_BROKER_KIND", "inprocess")
    with pytest.raises(ConfigError, match=r"broker\.kind: 'simulator' disagrees"):
        parse(EXAMPLE, tmp_path, load_settings())


# --- bad configs: one line, the key path, the problem ----------------------------------------


@pytest.mark.parametrize("case", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_a_bad_config_is_one_line_naming_the_key_and_the_problem(
    case: BadConfig, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(case.text, tmp_path)
    line = str(caught.value)
    assert "\n" not in line
    prefix = f"trade.toml: {case.path}: " if case.path else "trade.toml: "
    assert line.startswith(prefix), line
    for word in case.words:
        assert word in line, f"{word!r} not in {line!r}"
    if case.secret:
        assert case.secret not in line
    assert "pydantic" not in line.lower()
    assert "validation error" not in line.lower()


def test_there_is_a_bad_config_case_for_each_kind_of_mistake() -> None:
    assert len(BAD_CONFIGS) >= 25


def test_several_mistakes_are_still_one_line_naming_the_first_ones(tmp_path: Path) -> None:
    text = edited('mode = "paper"', 'mode = "x"')
    text = edited("quantity = 1", "quantity = 0", text)
    text = edited('exchange = "NSE"', 'exchange = "MCX"', text)
    text += "max_open_orders = 0\n"
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path)
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith("trade.toml: mode: must be one of")
    assert "; strategies[0].exchange: " in line
    assert "; strategies[0].quantity: " in line
    assert line.endswith("(and 1 more)")


def test_an_unreadable_file_or_one_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read the config file"):
        load_trade_config(tmp_path / "missing.toml", today=TODAY, settings=Settings())
    binary = tmp_path / "bars.parquet"
    binary.write_bytes(b"PAR1\xff\xfe\x00")
    with pytest.raises(ConfigError, match=r"bars\.parquet: not UTF-8 text"):
        load_trade_config(binary, today=TODAY, settings=Settings())
    folder = tmp_path / "adir"
    folder.mkdir()
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_trade_config(folder, today=TODAY, settings=Settings())


def test_arrays_nested_beyond_reason_are_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"trade\.toml: TOML syntax error"):
        parse("a = " + "[" * 5000 + "]" * 5000 + "\n", tmp_path)


def test_an_instrument_master_named_in_the_file_is_the_one_checked(tmp_path: Path) -> None:
    (tmp_path / "master.json").write_text(
        '[{"token": "1", "symbol": "ZZZ-EQ", "name": "ZZZ", "expiry": "", "strike": "-1.0",'
        ' "lotsize": "1", "instrumenttype": "", "exch_seg": "NSE", "tick_size": "5.0"}]'
    )
    text = 'instrument_master = "master.json"\n' + EXAMPLE
    with pytest.raises(ConfigError, match=r"symbols\[0\]: 'SBIN-EQ' is not in the instrument"):
        parse(text, tmp_path)
    config = parse(text.replace('"SBIN-EQ"', '"ZZZ-EQ"'), tmp_path)
    assert config.strategies[0].instruments[0].token == "1"  # noqa: S105 - an instrument token


# --- live trading ----------------------------------------------------------------------------


def live(tmp_path: Path) -> TradeConfig:
    return parse(LIVE, tmp_path)


def test_live_needs_confirmation_by_flag_or_environment(tmp_path: Path) -> None:
    store = EnvSecretStore(CREDENTIALS)
    with pytest.raises(ConfigError, match=r'mode = "live" needs confirmation: add --live'):
        check_live(live(tmp_path), live_flag=False, settings=Settings(), secrets=store)
    check_live(live(tmp_path), live_flag=True, settings=Settings(), secrets=store)
    check_live(
        live(tmp_path), live_flag=False, settings=Settings(live_confirm="yes"), secrets=store
    )


def test_live_without_credentials_names_each_missing_one_and_no_value(tmp_path: Path) -> None:
    partial = {k: v for k, v in CREDENTIALS.items() if "MPIN" not in k and "TOTP" not in k}
    with pytest.raises(ConfigError) as caught:
        check_live(
            live(tmp_path), live_flag=True, settings=Settings(), secrets=EnvSecretStore(partial)
        )
    line = str(caught.value)
    assert "\n" not in line
    assert line.endswith("angelone_mpin, angelone_totp_secret")
    assert all(value not in line for value in CREDENTIALS.values())


def test_live_flag_on_a_paper_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'mode = "paper" but --live was given'):
        check_live(
            parse(EXAMPLE, tmp_path),
            live_flag=True,
            settings=Settings(),
            secrets=EnvSecretStore({}),
        )


def test_paper_needs_no_confirmation_and_no_credentials(tmp_path: Path) -> None:
    check_live(
        parse(EXAMPLE, tmp_path), live_flag=False, settings=Settings(), secrets=EnvSecretStore({})
    )


def test_the_aws_secret_store_needs_its_id_and_region_named() -> None:
    with pytest.raises(ConfigError, match="ALGO_SECRETS_AWS_SECRET_ID and ALGO_SECRETS_AWS_REGION"):
        secret_store_for(Settings(secrets_backend="aws"), {})
    store = secret_store_for(
        Settings(
            secrets_backend="aws",
            secrets_aws_secret_id="algo",  # noqa: S106 - a secret's name
            secrets_aws_region="ap-south-1",
        ),
        {},
    )
    assert "algo" in repr(store)


class _UnreadableStore:
    """A secret store whose every answer is the same refusal, as an AWS secret that may not be
    read gives."""

    def get(self, name: str) -> str:
        raise ConfigError("AWS secret 'algo' (region ap-south-1): AccessDeniedException")


def test_a_secret_store_that_cannot_be_read_is_named_rather_than_every_credential(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        check_live(live(tmp_path), live_flag=True, settings=Settings(), secrets=_UnreadableStore())
    line = str(caught.value)
    assert line.endswith(
        "the secret store failed: AWS secret 'algo' (region ap-south-1): AccessDeniedException"
    )
    assert "angelone_mpin" not in line
