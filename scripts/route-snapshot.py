#!/usr/bin/env python3
"""Sends a fixed request set to a running service and writes each answer, minus what varies by run, to OUTDIR.

Two snapshots of the same configuration, before and after a change, must be byte-identical (`diff -r`): embeddings,
similarities, rerank and search results, and diffusion samples for fixed seeds. Timings, request ids and load
times are removed; everything else is kept as the service wrote it.
Usage: scripts/route-snapshot.py BASE_URL OUTDIR ADMIN_KEY   (scripts/route-snapshot.sh starts the service for you)
"""
import json, os, re, sys, time, urllib.request, urllib.error

VOLATILE = {"timings", "timing", "elapsed_ms", "duration_ms", "loaded_at", "started_at", "uptime_seconds", "request_id",
            "traceId", "trace_id", "created", "built_at", "load_ms", "version", "commit", "job_id"}

def scrub(value):
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in VOLATILE and not k.endswith("_ms")}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value

SENTENCES = ["A man is playing a guitar.", "A woman is slicing an onion.", "What is Deep Learning?",
             "the crane lifted the steel beam", "she could not bear the noise", "Ünïcödé and emoji 🎉 survive tokenizing"]
QUERIES = ["The horse galloped across the field", "she «swung» the bat at the ball", "the bird flew south for the winter"]

def requests():
    yield "embed", "POST", "/embed", {"inputs": SENTENCES}
    yield "embeddings", "POST", "/v1/embeddings", {"input": SENTENCES, "model": "all-MiniLM-L6-v2", "encoding_format": "float"}
    yield "embeddings-base64", "POST", "/v1/embeddings", {"input": SENTENCES[:2], "encoding_format": "base64"}
    yield "similarity", "POST", "/similarity", {"inputs": {"source_sentence": SENTENCES[3], "sentences": SENTENCES}}
    yield "pairs", "POST", "/v1/similarity/pairs", {"pairs": [[SENTENCES[0], SENTENCES[1]], [SENTENCES[3], SENTENCES[4]]]}
    for model in [None, "minilm-cosent-ce", "minilm-bce-ce"]:
        yield f"rerank-{model or 'default'}", "POST", "/rerank", {"query": "What is Deep Learning?", "model": model, "texts": ["Deep Learning is not...", "Deep learning is a subset of machine learning that uses neural networks.", "Cheese is made from milk."], "return_text": True}
    for i, query in enumerate(QUERIES):
        for method in ["cur", "adaptive", "adaptive-de", "de-rerank", "exhaustive"]:
            yield f"search-{i}-{method}", "POST", "/v1/search", {"index": "verb-motion", "query": query, "k": 10, "budget": 100, "method": method}
    yield "search-indexes", "GET", "/v1/search/indexes", None
    yield "models", "GET", "/v1/models", None
    for model in ["gmm-2d", "gauss-64", "mnist-unet"]:
        for variance in ["fixed-small", "fixed-large", "analytic", "npr", "sn"]:
            for trajectory in ["even", "quadratic", "optimal"]:
                yield (f"diffusion-{model}-{variance}-{trajectory}", "POST", "/v1/diffusion/samples",
                       {"model": model, "count": 2, "steps": 10, "variance": variance, "trajectory": trajectory, "seed": 7, "format": "json"})
        yield (f"diffusion-{model}-ddim", "POST", "/v1/diffusion/samples",
               {"model": model, "count": 2, "steps": 10, "process": "ddim", "eta": 0.0, "seed": 7, "format": "json"})
    yield "diffusion-stream", "GET", "/v1/diffusion/samples/stream?model=gmm-2d&count=2&steps=5&variance=analytic&seed=7", None
    yield "bad-input", "POST", "/v1/search", {"index": "verb-motion", "query": "", "method": "cur"}
    # The admin index routes, on a small index built here (WAIT polls until it is ready, then records it).
    items = [{"id": f"s{i}", "text": text} for i, text in enumerate(SENTENCES)]
    yield "index-build", "POST", "/v1/indexes", {"name": "snapshot", "items": items, "anchor_queries": QUERIES[:2], "dtype": "float32"}
    yield "index-ready", "WAIT", "/v1/indexes/snapshot", None
    yield "index-add", "POST", "/v1/indexes/snapshot/items", {"items": [{"id": "extra", "text": QUERIES[2]}]}
    yield "index-search", "POST", "/v1/search", {"index": "snapshot", "query": QUERIES[0], "k": 3, "budget": 4, "method": "cur"}
    yield "index-delete-item", "DELETE", "/v1/indexes/snapshot/items/s0", None
    yield "index-reload", "POST", "/v1/indexes/snapshot/reload", None
    yield "index-list", "GET", "/v1/indexes", None
    yield "index-delete", "DELETE", "/v1/indexes/snapshot", None

def main(base, outdir, key):
    os.makedirs(outdir, exist_ok=True)
    for name, method, path, body in requests():
        if method == "WAIT":
            method = "GET"
            for _ in range(600):
                with urllib.request.urlopen(urllib.request.Request(base + path, headers={"X-API-Key": key}), timeout=60) as response:
                    if json.loads(response.read())["status"] in ("ready", "failed"):
                        break
                time.sleep(0.5)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", "X-API-Key": key})
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        try:
            payload = scrub(json.loads(text))
        except ValueError:  # server-sent events: JSON lines inside text, their timings zeroed
            payload = re.sub(r'"(\w+_ms)":[0-9.eE+-]+', r'"\1":0', text.decode(errors="replace"))
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump({"status": status, "body": payload}, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        print(status, name)

if __name__ == "__main__":
    main(*sys.argv[1:4])
