/**
 * The console's stylesheet, light and dark (by the system's preference, or the toggle's choice).
 *
 * Owns: how things look. Never: behaviour.
 */
export const STYLES = `
:root { --bg:#fbfbfa; --fg:#1d1f21; --muted:#6b7075; --line:#e2e3e0; --panel:#ffffff; --accent:#2563eb; --ok:#15803d; --warn:#b45309; --bad:#b91c1c; --add:#dcfce7; --del:#fee2e2; }
:root[data-theme=dark] { --bg:#15171a; --fg:#e6e6e3; --muted:#9aa0a6; --line:#2c3036; --panel:#1c1f23; --accent:#60a5fa; --ok:#4ade80; --warn:#fbbf24; --bad:#f87171; --add:#14361f; --del:#3d1a1a; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, sans-serif; background:var(--bg); color:var(--fg); }
header { display:flex; gap:18px; align-items:center; padding:10px 20px; border-bottom:1px solid var(--line); background:var(--panel); position:sticky; top:0; z-index:1; }
header b { font-size:16px; }
header nav { display:flex; gap:14px; flex:1; }
header nav a { color:var(--muted); text-decoration:none; }
header nav a.on { color:var(--fg); font-weight:600; }
main { padding:18px 20px; max-width:1200px; }
h2 { font-size:17px; margin:0 0 12px; }
h3 { font-size:14px; margin:18px 0 8px; }
table { border-collapse:collapse; width:100%; background:var(--panel); }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:500; font-size:12px; }
code, pre, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12.5px; }
pre { background:var(--panel); border:1px solid var(--line); padding:8px; overflow:auto; margin:6px 0; white-space:pre-wrap; word-break:break-all; }
button { font:inherit; padding:3px 10px; border:1px solid var(--line); background:var(--panel); color:var(--fg); border-radius:4px; cursor:pointer; }
button.primary { background:var(--accent); color:white; border-color:var(--accent); }
button.danger { color:var(--bad); }
input, select, textarea { font:inherit; padding:3px 6px; border:1px solid var(--line); background:var(--panel); color:var(--fg); border-radius:4px; }
textarea { width:100%; min-height:140px; font-family:ui-monospace, monospace; font-size:12.5px; }
a { color:var(--accent); }
.row { display:flex; gap:8px; align-items:center; flex-wrap:wrap; margin:8px 0; }
.muted { color:var(--muted); }
.ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); }
.pill { display:inline-block; padding:0 7px; border-radius:9px; font-size:12px; border:1px solid var(--line); }
.pill.leader { border-color:var(--ok); color:var(--ok); font-weight:600; }
.pill.learner { border-color:var(--warn); color:var(--warn); }
.pill.down { border-color:var(--bad); color:var(--bad); }
.banner { padding:8px 10px; border:1px solid var(--warn); color:var(--warn); border-radius:4px; margin:8px 0; }
.error { padding:8px 10px; border:1px solid var(--bad); color:var(--bad); border-radius:4px; margin:8px 0; }
.tree { list-style:none; padding-left:18px; margin:0; }
.tree.root { padding-left:0; }
.tree li { padding:1px 0; }
.folder { cursor:pointer; user-select:none; }
.count { color:var(--muted); font-size:12px; margin-left:6px; }
.diff .added { background:var(--add); } .diff .removed { background:var(--del); }
.diff div { white-space:pre-wrap; font-family:ui-monospace, monospace; font-size:12.5px; padding:0 6px; }
.cards { display:flex; gap:12px; flex-wrap:wrap; margin-bottom:14px; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:10px 14px; min-width:150px; }
.card .big { font-size:20px; font-weight:600; }
.events li { font-family:ui-monospace, monospace; font-size:12.5px; }
`;
