"""`autoformal review`: the labels store, the HTTP API (token, gate, escaping) and, in a real headless Chromium,
the page as a reviewer uses it (keyboard, edit, reload)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from autoformal.evaluation.labelled import load_labelled
from autoformal.review.app import TOKEN_HEADER, ReviewState, build_app
from autoformal.review.store import LabelStore, labels_path_for, load_problems

XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def _candidate(rank: int, statement: str, status: str = "ok") -> dict[str, Any]:
    return {
        "rank": rank,
        "statement": statement,
        "score": 1.0 / rank,
        "scores": {"consistency": 0.5},
        "lean": {"status": status, "ok": status == "ok", "messages": [], "statement": statement},
        "back_translation": f"back {rank} [a, b]",
    }


def _bulk_output(path: Path) -> Path:
    records = [
        {
            "id": "p1",
            "input": "For every natural number n, n + 0 = n.",
            "candidates": [
                _candidate(1, "theorem a (n : Nat) : n + 0 = n := sorry"),
                _candidate(2, "theorem b (n : Nat) : n + 1 = n := sorry"),
                _candidate(3, "theorem c {α : Type} [inst : Inhabited α] (l : List α) (h : l = [x, y]) : True := sorry"),  # noqa: E501
            ],
            "errors": [],
        },
        {"id": "p2", "input": f"Injected {XSS}", "candidates": [_candidate(1, f"theorem x : True := sorry -- {XSS}")]},
        {"id": "p3", "input": "Nothing survived.", "candidates": [], "errors": ["none of the 8 candidates parsed"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"id": "torn', encoding="utf-8")
    return path


@pytest.fixture
def state(tmp_path: Path) -> Iterator[ReviewState]:
    out = _bulk_output(tmp_path / "out.jsonl")
    gold = tmp_path / "in.jsonl"
    reference = {"id": "p1", "informal": "x", "formal": "theorem g (n : ℕ) : n + 0 = n := sorry"}
    gold.write_text(json.dumps(reference) + "\n")
    review = ReviewState(problems=load_problems(out, gold), labels=LabelStore(labels_path_for(out)))
    yield review
    review.labels.close()


def test_problems_gold_and_torn_tail(state: ReviewState) -> None:
    assert [p.id for p in state.problems] == ["p1", "p2", "p3"]  # the torn last line is skipped
    assert state.problems[0].gold == "theorem g (n : ℕ) : n + 0 = n := sorry"
    assert state.problems[2].failed and state.select("failed") == [state.problems[2]]


def test_api_needs_the_token_and_records_decisions(state: ReviewState) -> None:
    client = TestClient(build_app(state))
    decision = {"problem_id": "p1", "rank": 2, "verdict": "unfaithful"}
    assert client.post("/api/decision", json=decision).status_code == 403
    assert client.post("/api/decision", json=decision, headers={TOKEN_HEADER: "wrong"}).status_code == 403
    assert client.get("/p/0").status_code == 403
    assert not state.labels.path.exists() or state.labels.path.read_text() == ""

    headers = {TOKEN_HEADER: state.token}
    assert client.post("/api/decision", json=decision, headers=headers).status_code == 200
    assert client.post("/api/decision", json={**decision, "verdict": "faithful"}, headers=headers).status_code == 200
    assert client.post("/api/decision", json={**decision, "rank": 9}, headers=headers).status_code == 404
    assert client.post("/api/decision", json={"problem_id": "p1"}, headers=headers).status_code == 400
    lines = state.labels.path.read_text().splitlines()
    assert len(lines) == 2  # append-only: both decisions are on disk
    assert state.labels.decisions["p1#2"].label is True  # the last one wins
    assert state.disagrees(state.problems[0])  # rank 2 accepted: the ranker preferred rank 1
    assert state.select("unreviewed") == [state.problems[1]]


def test_an_unsafe_edit_is_refused(state: ReviewState) -> None:
    client = TestClient(build_app(state))
    headers = {TOKEN_HEADER: state.token}
    unsafe = {"problem_id": "p1", "rank": 1, "verdict": "faithful", "edited_statement": '#eval IO.println "x"'}
    answer = client.post("/api/decision", json=unsafe, headers=headers)
    assert answer.status_code == 422 and "safety gate" in answer.json()["error"]
    edit = {**unsafe, "edited_statement": "theorem a (n : Nat) : 0 + n = n := sorry", "note": "commuted"}
    assert client.post("/api/decision", json=edit, headers=headers).status_code == 200
    decision = state.labels.decisions["p1#1"]
    assert decision.edited and decision.candidate.startswith("theorem a (n : Nat) : 0 + n")
    assert decision.original_candidate == "theorem a (n : Nat) : n + 0 = n := sorry"


def test_page_escapes_everything_from_the_jsonl(state: ReviewState) -> None:
    client = TestClient(build_app(state))
    html = client.get(f"/p/1?token={state.token}").text
    assert "<script>window.__pwned" not in html and "&lt;script&gt;window.__pwned" in html
    assert 'onerror="window' not in html
    assert "script-src 'nonce-" in client.get(f"/p/1?token={state.token}").headers["content-security-policy"]
    page = client.get(f"/p/0?token={state.token}").text
    assert "[inst : Inhabited α]" in page and "[x, y]" in page and "back 3 [a, b]" in page


def test_labels_file_is_what_eval_reads_and_survives_a_restart(state: ReviewState, tmp_path: Path) -> None:
    problem = state.problems[0]
    state.labels.record(problem, problem.candidates[0], verdict="faithful", reviewer="ana")
    state.labels.record(problem, problem.candidates[1], verdict="unfaithful", reviewer="ana", note="off by one")
    state.labels.record(problem, problem.candidates[1], verdict="faithful", reviewer="ana")
    state.labels.close()
    with state.labels.path.open("ab") as stream:
        stream.write(b'{"key": "p1#3", "torn')  # a server killed mid-write
    reopened = LabelStore(state.labels.path)
    try:
        assert {k: d.label for k, d in reopened.decisions.items()} == {"p1#1": True, "p1#2": True}
    finally:
        reopened.close()
    pairs, _ = load_labelled(state.labels.path)
    assert [(p.candidate, p.label) for p in pairs] == [
        ("theorem a (n : Nat) : n + 0 = n := sorry", True),
        ("theorem b (n : Nat) : n + 1 = n := sorry", True),
    ]  # one row per candidate: the last decision


# -- the page in a real browser ----------------------------------------------------------------------------------


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("no headless Chromium: `apt-get install chromium chromium-driver` (or `make test-browser`)")
    pytest.importorskip("selenium", reason="selenium is not installed (pip install 'autoformal[dev]')")
    return browser, driver


@pytest.fixture
def served(state: ReviewState) -> Iterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(build_app(state), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    binary, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait(condition: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


@pytest.mark.slow
def test_review_in_a_real_browser(state: ReviewState, served: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{served}/?token={state.token}")
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".candidate.selected"))
    _press(browser, "a")  # candidate 1: faithful
    _wait(lambda: "p1#1" in state.labels.decisions)
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#cand-1.faithful"))
    _press(browser, "j")
    _press(browser, "r")  # candidate 2: unfaithful
    _wait(lambda: "p1#2" in state.labels.decisions)
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#cand-2.unfaithful.selected"))
    _press(browser, "j")
    _press(browser, "e")  # candidate 3: edit, then save as faithful
    area = browser.find_element(By.CSS_SELECTOR, "#cand-3 textarea")
    area.clear()
    area.send_keys("theorem c (l : List Nat) (h : l = [1, 2]) : l.length = 2 := sorry")
    browser.find_element(By.CSS_SELECTOR, "#cand-3 .note").send_keys("stated the length")
    browser.find_element(By.CSS_SELECTOR, "#cand-3 .save-faithful").click()
    _wait(lambda: "p1#3" in state.labels.decisions)
    if os.environ.get("AUTOFORMAL_SCREENSHOT_DIR"):  # the README's screenshot
        _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#cand-3.faithful"))
        browser.save_screenshot(str(Path(os.environ["AUTOFORMAL_SCREENSHOT_DIR"]) / "review-page.png"))

    browser.refresh()  # the page, reloaded, shows what the labels file says
    cards = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".candidate"))
    shown = {c.get_attribute("data-rank"): c.get_attribute("class") for c in cards}
    on_disk = {d.rank: d.label for d in LabelStore.read(state.labels.path).values()}
    assert on_disk == {1: True, 2: False, 3: True}
    assert "faithful" in shown["1"] and "unfaithful" in shown["2"] and "faithful" in shown["3"]
    assert "l.length = 2" in browser.find_element(By.CSS_SELECTOR, "#cand-3 .statement").text
    assert "1 / 3 problems reviewed" in browser.find_element(By.ID, "progress").text

    # an XSS payload in the input and the candidate is shown as text, and runs nothing
    browser.get(f"{served}/p/1?token={state.token}")
    informal = _wait(lambda: browser.find_elements(By.ID, "informal"))[0]
    assert "<script>window.__pwned = 1</script>" in informal.text
    assert browser.execute_script("return window.__pwned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "#informal img, #informal script")

    # a write without the token is refused, even from the page's own origin
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/decision', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({problem_id: 'p2', rank: 1, verdict: 'faithful'})}).then(r => done(r.status));"
    )
    assert status == 403 and "p2#1" not in state.labels.decisions


def test_weights_fitted_on_review_labels_load_into_the_ranker(tmp_path: Path) -> None:
    from autoformal.errors import ConfigurationError
    from autoformal.ranking import Ranker, RankerConfig

    file = tmp_path / "weights.json"
    file.write_text(json.dumps({"weights": {"consistency": 2.0, "self_consistency": 0.0}, "pairs": 40}))
    config = RankerConfig(weights_file=file)
    assert config.weights["consistency"] == 2.0 and config.weights["self_consistency"] == 0.0
    assert config.weights["back_translation"] == RankerConfig().weights["back_translation"]  # others kept
    ranker = Ranker(config)
    assert ranker.combine({"consistency": 1.0, "self_consistency": 0.0}) == 1.0  # self_consistency weighs 0
    file.write_text("[1, 2]")
    with pytest.raises(ConfigurationError, match="--save-weights"):
        RankerConfig(weights_file=file)
