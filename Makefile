# Set-up and the two commands the README promises: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT := out/demo
SAMPLE := src/sealshot/video/samples/arcade-walkers-1080p-crf29.mp4

.PHONY: demo test install system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 resolves to the local CPU wheel; install it first so nothing pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[evaluate,test]'
	touch $(STAMP)

install: $(STAMP)

# Debian programs the tests drive for real: ffmpeg serves clips as live streams, chromium is the browser.
SYSTEM_PROGRAMS := ffmpeg chromium
system-deps:
	@missing=""; for p in $(SYSTEM_PROGRAMS); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg chromium chromium-driver >/dev/null \
		|| echo "warning: could not install$$missing; the tests that need them will skip and say why"; \
	fi

demo: $(STAMP)
	rm -rf $(OUT) && mkdir -p $(OUT)
	$(VENV)/bin/sealshot keygen --out $(OUT)/keys
	$(VENV)/bin/sealshot run $(SAMPLE) --vault $(OUT)/vault --recipient $(OUT)/keys/authority.pub --camera arcade \
		--preview $(OUT)/preview.mp4 --report $(OUT)/report.json --timeline $(OUT)/timeline.png
	$(VENV)/bin/sealshot vault verify --vault $(OUT)/vault
	$(VENV)/bin/sealshot vault list --vault $(OUT)/vault
	@echo "demo outputs in $(OUT): vault/ (sealed), preview.mp4, report.json, timeline.png"

test: $(STAMP) system-deps
	$(PY) -m pytest -q -p no:cacheprovider --durations=15

clean:
	rm -rf $(VENV) out .cache
