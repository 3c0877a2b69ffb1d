"""The screenshot of docs/serving.md: `bioner-serve` on a model, its page in headless Chromium, a paragraph tagged.

    python scripts/screenshot_page.py --model runs/demo/mtl-ls-0.5/export/NCBI-disease --output docs/serving.png

Needs Playwright's Python package and a Chromium (Debian's `chromium` package: --browser /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request


PARAGRAPH = (
    "Germline mutations in BRCA1 and BRCA2 predispose to familial breast and ovarian cancer. Carriers of APC "
    "mutations develop adenomatous polyposis coli, and colorectal cancer follows unless the colon is removed. "
    "Ataxia-telangiectasia (A-T) is a recessive multi-system disorder with a raised risk of leukaemia."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--browser", default="/usr/bin/chromium")
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "mtl_bioner.serving.cli", "--model", args.model, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "health", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as runner:
            browser = runner.chromium.launch(
                executable_path=args.browser,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1000, "height": 560})
            page.goto(url)
            page.fill("#text", PARAGRAPH)
            page.click("#tag")
            page.wait_for_selector("#output mark")
            page.hover("#output mark >> nth=0")
            page.screenshot(path=args.output, full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(args.output)


if __name__ == "__main__":
    main()
