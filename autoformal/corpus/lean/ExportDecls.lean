/-
ExportDecls: print every constant of a Lean environment as one JSON object per line, in the corpus format
that `autoformal.corpus.load_declarations` reads (the format of `decls.jsonl.gz`).

Unlike the source parser this sees what the elaborator generated (`@[to_additive]` twins, structure
projections, instances with their generated names) and pretty-prints elaborated types.

Run inside a Lake project that depends on Mathlib (autoformal does this for you with
`autoformal.corpus.lean_export.export_declarations`):

    lake env lean --run ExportDecls.lean Mathlib > decls.jsonl

Arguments: the modules to import (default: Mathlib).
-/
import Lean

open Lean Meta

/-- The corpus `kind` of a constant (the declaration keyword a user would have written). -/
def kindOf (env : Environment) (name : Name) : ConstantInfo → String
  | .thmInfo _ => "theorem"
  | .defnInfo _ => if isInstanceCore env name then "instance" else "def"
  | .axiomInfo _ => "axiom"
  | .opaqueInfo _ => "opaque"
  | .quotInfo _ => "def"
  | .inductInfo _ =>
    if isStructure env name then
      if isClass env name then "class" else "structure"
    else if isClass env name then "class inductive" else "inductive"
  | .ctorInfo _ => "constructor"
  | .recInfo _ => "recursor"

/-- Constants a formalizer never writes: compiler/elaborator internals and auxiliary recursors. -/
def isNoise (env : Environment) (name : Name) (info : ConstantInfo) : Bool :=
  name.isInternalDetail || isAuxRecursor env name || isNoConfusion env name ||
    match info with
    | .recInfo _ => true
    | _ => false

def moduleOf (env : Environment) (name : Name) : Option String :=
  (env.getModuleIdxFor? name).map fun idx => toString env.header.moduleNames[idx.toNat]!

unsafe def main (args : List String) : IO UInt32 := do
  let modules := if args.isEmpty then [`Mathlib] else args.map String.toName
  initSearchPath (← findSysroot)
  enableInitializersExecution
  let env ← importModules (modules.map fun m => { module := m }).toArray {} (trustLevel := 1024)
  let names := env.constants.fold (fun acc name _ => acc.push name) (#[] : Array Name)
  let stdout ← IO.getStdout
  let coreContext : Core.Context := { fileName := "<ExportDecls>", fileMap := default, maxHeartbeats := 0 }
  let mut failures : Nat := 0
  for name in names do
    let some info := env.find? name | continue
    if isNoise env name info then continue
    let printed ← (((ppExpr info.type).run' {} {}).run' coreContext { env }).toBaseIO
    let type ← match printed with
      | .ok format => pure (toString format)
      | .error _ => do failures := failures + 1; pure (toString info.type)
    let doc ← findDocString? env name
    let record := Json.mkObj [
      ("name", toJson name.toString),
      ("kind", toJson (kindOf env name info)),
      ("signature", toJson (": " ++ type)),
      ("docstring", toJson doc),
      ("module", toJson (moduleOf env name)),
      ("attributes", toJson ([] : List String))
    ]
    stdout.putStrLn record.compress
  if failures > 0 then
    IO.eprintln s!"ExportDecls: {failures} types could not be pretty-printed; raw terms were written"
  return 0
