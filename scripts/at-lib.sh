# Shared by scripts/at-*.sh: run NAME EPS [train flags...] trains wong-cnn into $OUT/NAME for $EPOCHS epochs
# (skipped when finished, resumed when interrupted), then PGD-20 (α = ε/4) on the first 1000 test images twice:
# pgd20.json counts an example broken if any iterate fools the model (advlab's default), pgd20-final.json
# only the final iterate (--final-iterate: what the issue's PyTorch reference and most papers count).
# Sourcing it moves to the repository's root and sets EPOCHS (default 10); the caller sets OUT.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EPOCHS=${EPOCHS:-10}
advlab() { node packages/cli/bin/advlab.js "$@"; }
run() {
  local name=$1 eps=$2; shift 2
  local dir="$OUT/$name"
  if [ -f "$dir/summary.json" ]; then echo "== $name: done";
  elif [ -f "$dir/config.json" ]; then advlab train --resume "$dir";
  else advlab train --model wong-cnn --epochs "$EPOCHS" --eps "$eps" --out "$dir" "$@"; fi
  [ -f "$dir/pgd20.json" ] || advlab eval --model "$dir" --attacks pgd --steps 20 --eps "$eps" --n 1000 --no-worst-case --json "$dir/pgd20.json" > /dev/null
  [ -f "$dir/pgd20-final.json" ] || advlab eval --model "$dir" --attacks pgd --steps 20 --eps "$eps" --n 1000 --no-worst-case --final-iterate --json "$dir/pgd20-final.json" > /dev/null
}
