"""llmrt on Ray Serve: engine replicas behind one HTTP ingress, routed by prompt prefix.

    llmrt serve MODEL --ray --replicas 2            # a local Ray instance
    llmrt serve MODEL --ray --autoscale 1,4 --address auto
    serve run python/llmrt/server/ray_config.yaml

Needs the ray extra: pip install "llmrt[ray]". Modules: deployment (the application),
replica (one engine per replica), ingress (HTTP, health, metrics, retryable errors), router
(prefix-hash routing in Ray Serve's router), prefix_key, ring, asgi_call, metrics_merge."""
