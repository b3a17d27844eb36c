# Bash completion for wuxing (installed to share/bash-completion/completions/wuxing).
# Subcommands, their options, spec files (*.yaml), results files (*.h5) and the keys of an
# override (key.path=) from `wuxing run --help`'s spec syntax.
_wuxing() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }
  local commands="run validate stability report merge"
  if ((cword == 1)); then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  local cmd="${words[1]}"
  case "$prev" in
    -o | --output)
      COMPREPLY=($(compgen -f -X '!*.h5' -- "$cur") $(compgen -d -- "$cur"))
      return ;;
    --mpi-schedule) COMPREPLY=($(compgen -W "dynamic static" -- "$cur")); return ;;
    --shard) COMPREPLY=($(compgen -W "slurm 0/2 1/2" -- "$cur")); return ;;
    --format) COMPREPLY=($(compgen -W "table md csv" -- "$cur")); return ;;
    --threads) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    # The options of the subcommand, read from its help.
    local opts
    opts=$(wuxing "$cmd" --help 2>/dev/null | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' |
           tr -d ' ,' | sort -u)
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  case "$cmd" in
    run | validate | stability)
      if [[ "$cur" == *.* && "$cur" != */* && "$cur" != *.yaml ]]; then
        local sections="model. network. data. integrator. training. record. status. sweep. seed= name= threads="
        COMPREPLY=($(compgen -W "$sections" -- "$cur"))
        compopt -o nospace 2>/dev/null
      else
        COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur"))
      fi ;;
    report | merge)
      COMPREPLY=($(compgen -f -X '!*.h5' -- "$cur") $(compgen -d -- "$cur")) ;;
  esac
}
complete -F _wuxing wuxing
