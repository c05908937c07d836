"""Source adapters: each turns one kind of input into an Inventory.

| name | input |
| --- | --- |
| synth | the infra program under Pulumi's mock runtime (offline, default) |
| pulumi-state | JSON of `pulumi stack export` |
| pulumi-preview | JSON of `pulumi preview --json` |
| arm | an ARM template or `az group export` JSON |
"""
