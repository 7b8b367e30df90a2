"""The chain: registry client, backends (embedded, anvil, rpc), deployment, anchors, verification."""
