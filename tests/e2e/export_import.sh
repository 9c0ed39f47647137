#!/usr/bin/env bash
# Weights between dunet and PyTorch (Debian's python3-torch), both ways:
# 1. a trained checkpoint exported: Python's seed UNet (python/dunet_unet.py) loads the
#    state_dict strictly and gives dunet's logits within 1e-4;
# 2. a network made in PyTorch imported: dunet serves it (`infer`), exports it back bit for
#    bit, computes its logits within 1e-4, and fine-tunes from it (train.init_weights);
# 3. bad folders are refused with the file and the key named, and nothing written.
# Usage: export_import.sh PATH_TO_DUNET
source "$(dirname "$0")/lib.sh"
DUNET=$(realpath "$1")
PYTHON_DIR=$(realpath "$(dirname "$0")/../../python")
# Debian's Python, where python3-torch is installed (not a python3 earlier on PATH).
PYTHON=${DUNET_TEST_PYTHON:-/usr/bin/python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export PYTHONPATH=$PYTHON_DIR

"$DUNET" synth --out png --count 16 --size 64x64 --seed 4 > /dev/null
"$DUNET" prepare --input png --out shards --shards 1 --val-fraction 0.25 > /dev/null 2>&1
tiny_config tiny.toml run "learning_rate = 0.01"
sed -i 's/^depth = 2$/depth = 3\nout_channels = 2/' tiny.toml
"$DUNET" train --config tiny.toml --set train.epochs=3 > train.log 2>&1 ||
  fail "training: $(tail -3 train.log)"

# 1. dunet -> PyTorch.
"$DUNET" export --model run/checkpoints/best.pt --out exported > export.log 2>&1 ||
  fail "export: $(tail -3 export.log)"
"$PYTHON" - exported <<'PY' || fail "the exported weights do not give dunet's logits in PyTorch"
import sys, torch, dunet_unet
model, mean, std = dunet_unet.load_exported(sys.argv[1])
assert len(mean) == 3 and len(std) == 3
names = list(torch.load(f"{sys.argv[1]}/state_dict.pt").keys())
assert "downs.0.conv.0.weight" in names and "bottleneck.conv.1.running_mean" in names, names
assert "ups.0.weight" in names and "ups.5.conv.3.weight" in names and "final_conv.bias" in names
example = torch.load(f"{sys.argv[1]}/example.pt")
with torch.no_grad():
    logits = model(example["input"])
assert logits.shape == example["logits"].shape == (1, 2, 29, 35), (logits.shape, example["logits"].shape)
error = (logits - example["logits"]).abs().max().item()
print(f"ok: PyTorch's logits of the exported weights differ from dunet's by at most {error:.2e}")
assert error <= 1e-4, error
PY

# 2. PyTorch -> dunet: a GroupNorm UNet with its own random weights.
"$PYTHON" - made <<'PY' || fail "could not write a PyTorch UNet for dunet"
import sys, torch, dunet_unet
torch.manual_seed(7)
model = dunet_unet.UNet(in_channels=3, out_channels=1, base_channels=8, depth=3, norm="group")
dunet_unet.save_for_dunet(model, sys.argv[1], mean=[0.5, 0.45, 0.4], std=[0.3, 0.3, 0.3])
PY
"$DUNET" import --from made --out made.pt > import.log 2>&1 || fail "import: $(tail -3 import.log)"
"$DUNET" checkpoint inspect made.pt | grep -q "^model            in_channels=3 base_channels=8 depth=3" ||
  fail "the imported checkpoint has not the model's shape: $("$DUNET" checkpoint inspect made.pt)"
"$DUNET" infer --model made.pt --image png/$(ls png | head -1)/images --out served > infer.log 2>&1 ||
  fail "infer with the imported checkpoint: $(tail -3 infer.log)"
[ -n "$(find served -name '*.png' | head -1)" ] || fail "infer wrote no mask with the imported checkpoint"
"$DUNET" export --model made.pt --out made-back > /dev/null 2>&1 || fail "export of the imported checkpoint"
"$PYTHON" - made made-back <<'PY' || fail "the imported weights did not come back whole, or dunet computes another function"
import sys, torch, dunet_unet
made = torch.load(f"{sys.argv[1]}/state_dict.pt")
back = torch.load(f"{sys.argv[2]}/state_dict.pt")
assert made.keys() == back.keys(), set(made) ^ set(back)
for name in made:
    assert torch.equal(made[name], back[name]), name
model, _, _ = dunet_unet.load_exported(sys.argv[2])
example = torch.load(f"{sys.argv[2]}/example.pt")
with torch.no_grad():
    error = (model(example["input"]) - example["logits"]).abs().max().item()
print(f"ok: imported {len(made)} tensors came back bit for bit; dunet's logits within {error:.2e}")
assert error <= 1e-4, error
PY

# Fine-tuning starts from the imported weights: with a vanishing learning rate the weights
# after an epoch are still the imported ones (GroupNorm keeps no running statistics).
cat > fine.toml <<'TOML'
[run]
output_dir = "fine"
[data]
train = ["shards/train-*.h5"]
val = ["shards/val-*.h5"]
patch_size = 32
[model]
base_channels = 8
depth = 3
norm = "group"
[train]
epochs = 1
batch_size = 2
threads = 1
learning_rate = 1e-12
init_weights = "made.pt"
TOML
"$DUNET" train --config fine.toml > fine.log 2>&1 || fail "fine-tuning: $(tail -3 fine.log)"
grep -q "initial weights from made.pt" fine.log || fail "the run did not say where its weights came from"
"$DUNET" export --model fine/checkpoints/best.pt --out fine-back > /dev/null 2>&1
"$PYTHON" - made fine-back <<'PY' || fail "fine-tuning did not start from the imported weights"
import sys, torch
made = torch.load(f"{sys.argv[1]}/state_dict.pt")
fine = torch.load(f"{sys.argv[2]}/state_dict.pt")
worst = max((made[n] - fine[n]).abs().max().item() for n in made)
print(f"ok: after an epoch at learning rate 1e-12 the weights are the imported ones within {worst:.1e}")
assert worst <= 1e-6, worst
PY

# 3. Refusals.
mkdir bad && cp made/state_dict.pt bad/
"$PYTHON" -c 'import json; d=json.load(open("made/model.json")); d["depth"]=4; json.dump(d, open("bad/model.json","w"))'
expect_refusal_naming "import weights of another shape" 1 "bad/state_dict.pt" "has no 'downs.3.conv.0.weight'" \
  "$DUNET" import --from bad --out bad.pt
"$PYTHON" -c 'import json; d=json.load(open("made/model.json")); del d["norm"]; json.dump(d, open("bad/model.json","w"))'
expect_refusal_naming "import without a norm" 1 "bad/model.json" "has no key 'norm'" \
  "$DUNET" import --from bad --out bad.pt
"$PYTHON" - <<'PY'
import torch
state = torch.load("made/state_dict.pt")
state["extra.weight"] = torch.zeros(1)
torch.save(state, "bad/state_dict.pt")
PY
cp made/model.json bad/model.json
expect_refusal_naming "import a state_dict with a foreign key" 1 "bad/state_dict.pt" "unexpected key 'extra.weight'" \
  "$DUNET" import --from bad --out bad.pt
"$PYTHON" - <<'PY'
import torch, dunet_unet
torch.save(dunet_unet.UNet(3, 1, 8, 3, "group").state_dict(), "bad/state_dict.pt")  # an OrderedDict
PY
expect_refusal_naming "import Module.state_dict() saved as it is" 1 "bad/state_dict.pt" \
  "torch.save(dict(model.state_dict()), path)" "$DUNET" import --from bad --out bad.pt
echo "export/import: all checks passed"
