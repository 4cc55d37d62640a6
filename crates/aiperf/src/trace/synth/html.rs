//! The run directory's pages, each self-contained (data inlined, nothing fetched):
//! `report.html` (histograms of the drawn figures and sample sessions' context growth),
//! `cache_explorer.html` (each turn's blocks by cache layer) and `simulation.html` (the
//! sessions replayed by a number of concurrent users against an estimated server).

use std::fmt::Write as _;

use serde_json::json;

use super::config::SessionConfig;
use super::sessions::Session;
use super::structure::{CacheStructure, Figures};

const STYLE: &str = "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;\
color:#222}h1{font-size:1.5em}.grid{display:grid;grid-template-columns:1fr 1fr;gap:1em}\
figure{margin:0;border:1px solid #ddd;padding:.5em}figcaption{font-weight:bold;\
margin-bottom:.3em}svg{width:100%;height:auto}label{margin-right:1em}\
.bar{display:flex;height:14px;margin:2px 0}.bar div{height:100%}\
.legend span{display:inline-block;width:12px;height:12px;margin:0 .3em 0 1em}</style>";

/// The bar colour of the charts.
const GREEN: &str = "#76b900";

/// JSON safe to inline in a `<script>` element.
fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace("</", "<\\/")
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         {STYLE}</head><body>\n<h1>{t}</h1>\n{body}\n</body></html>\n",
        t = esc(title)
    )
}

/// A histogram of `values` in 30 bins, as an SVG figure.
fn histogram(title: &str, values: &[f64]) -> String {
    const BINS: usize = 30;
    let (w, h, pad) = (480.0, 240.0, 40.0);
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let width = if hi > lo {
        (hi - lo) / BINS as f64
    } else {
        1.0
    };
    let mut counts = [0usize; BINS];
    for v in values {
        let bin = (((v - lo) / width) as usize).min(BINS - 1);
        counts[bin] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bar_w = (w - 2.0 * pad) / BINS as f64;
    let mut svg = format!("<svg viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">");
    for (i, n) in counts.iter().enumerate() {
        let bh = (h - 2.0 * pad) * *n as f64 / top;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{GREEN}\">\
             <title>{:.4}–{:.4}: {n}</title></rect>",
            pad + i as f64 * bar_w,
            h - pad - bh,
            bar_w * 0.9,
            lo + i as f64 * width,
            lo + (i + 1) as f64 * width
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#555\"/>\
         <text x=\"{pad}\" y=\"{ty}\" font-size=\"11\">{lo:.4}</text>\
         <text x=\"{x2}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"end\">{hi:.4}</text>\
         <text x=\"4\" y=\"{pad}\" font-size=\"11\">{top}</text></svg>",
        y = h - pad,
        x2 = w - pad,
        ty = h - pad + 16.0,
    );
    format!(
        "<figure><figcaption>{} (n={})</figcaption>{svg}</figure>",
        esc(title),
        values.len()
    )
}

/// Prompt length by turn of up to ten sessions, as an SVG figure.
fn context_growth(sessions: &[Session]) -> String {
    let (w, h, pad) = (960.0, 300.0, 50.0);
    let sample = &sessions[..sessions.len().min(10)];
    let max_turns = sample
        .iter()
        .map(|s| s.turns.len())
        .max()
        .unwrap_or(1)
        .max(2)
        - 1;
    let max_isl = sample
        .iter()
        .flat_map(|s| s.turns.iter().map(|t| t.input_length))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];
    let mut svg = format!("<svg viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">");
    for (i, s) in sample.iter().enumerate() {
        let points: Vec<String> = s
            .turns
            .iter()
            .enumerate()
            .map(|(j, t)| {
                format!(
                    "{:.1},{:.1}",
                    pad + (w - 2.0 * pad) * j as f64 / max_turns as f64,
                    h - pad - (h - 2.0 * pad) * t.input_length as f64 / max_isl
                )
            })
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\">\
             <title>{}</title></polyline>",
            colors[i % colors.len()],
            points.join(" "),
            esc(&s.id)
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#555\"/>\
         <text x=\"{x2}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"end\">turn {max_turns}</text>\
         <text x=\"4\" y=\"{pad}\" font-size=\"11\">{max_isl} tokens</text></svg>",
        y = h - pad,
        x2 = w - pad,
        ty = h - pad + 16.0,
    );
    format!(
        "<figure><figcaption>Context growth: prompt tokens by turn (first {} sessions)\
         </figcaption>{svg}</figure>",
        sample.len()
    )
}

/// `report.html`.
pub(super) fn dashboard(f: &Figures, sessions: &[Session]) -> String {
    let charts: [(&str, &[f64]); 14] = [
        ("Tokens added per turn (all turns)", &f.total_isl),
        ("Output length", &f.total_osl),
        ("Initial context (first turn)", &f.initial_context),
        ("New tokens per turn (later turns)", &f.new_tokens_per_turn),
        ("Inter-turn delay (s)", &f.inter_turn_delay_s),
        ("Turns per session", &f.turns_per_session),
        ("Hash id blocks per turn", &f.hash_id_block_count),
        ("Estimated request latency (s)", &f.request_latency_s),
        ("Estimated session duration (min)", &f.session_duration_min),
        ("Prefix length (tokens)", &f.prefix_length),
        ("Unique prompt length (tokens)", &f.unique_prompt_length),
        ("Prefix ratio", &f.prefix_ratio),
        ("Sequential cache hit rate", &f.sequential_cache_hit_rate),
        ("Per-session cache hit rate", &f.per_session_cache_hit_rate),
    ];
    let mut body = format!(
        "<p>{} sessions, {} turns. Latencies are estimated at 20,000 prefill and 60 decode \
         tokens per second.</p>\n<div class=\"grid\">",
        sessions.len(),
        f.total_isl.len()
    );
    for (title, values) in charts.iter().filter(|(_, v)| !v.is_empty()) {
        body.push_str(&histogram(title, values));
    }
    body.push_str("</div>\n");
    if !sessions.is_empty() {
        body.push_str(&context_growth(sessions));
    }
    page("Agentic code dataset report", &body)
}

/// `cache_explorer.html`.
pub(super) fn cache_explorer(structure: &CacheStructure) -> String {
    let data = script_json(&serde_json::to_value(structure).unwrap_or_default());
    let body = format!(
        "<p>Each row is a turn's prompt, block by block ({} tokens each): L1 is shared by all \
         sessions, L1.5 by a group, L2 is the session's own prefix, L3 its new conversation. \
         Pale blocks are new, solid ones were cached by an earlier turn.</p>\
         <div class=\"legend\"><span style=\"background:#1f77b4\"></span>L1\
         <span style=\"background:#9467bd\"></span>L1.5<span style=\"background:#2ca02c\"></span>L2\
         <span style=\"background:#ff7f0e\"></span>L3</div>\
         <p><label>Session <select id=\"session\"></select></label></p><div id=\"turns\"></div>\
         <script>const DATA={data};{EXPLORER_JS}</script>",
        structure.block_size
    );
    page("Agentic code cache explorer", &body)
}

const EXPLORER_JS: &str = r##"
const COLORS={"L1":"#1f77b4","L1.5":"#9467bd","L2":"#2ca02c","L3":"#ff7f0e"};
const pick=document.getElementById("session"),out=document.getElementById("turns");
DATA.sessions.forEach((s,i)=>{const o=document.createElement("option");o.value=i;
o.textContent=s.session_id+" ("+s.turns.length+" turns)";pick.appendChild(o);});
function show(){const s=DATA.sessions[pick.value];if(!s){return;}
const most=Math.max(1,...s.turns.map(t=>t.num_blocks));out.innerHTML="";
s.turns.forEach(t=>{const row=document.createElement("div");row.className="bar";
row.title="turn "+t.turn_index+": "+t.num_blocks+" blocks, +"+t.input_length+" tokens, "+
t.output_length+" out";t.segments.forEach(g=>{const d=document.createElement("div");
d.style.width=(100*g.count/most)+"%";d.style.background=COLORS[g.layer];
d.style.opacity=g.status==="new"?"0.45":"1";row.appendChild(d);});out.appendChild(row);});}
pick.onchange=show;show();
"##;

/// `simulation.html`.
pub(super) fn simulation(sessions: &[Session], config: &SessionConfig) -> String {
    let data: Vec<serde_json::Value> = sessions
        .iter()
        .map(|s| {
            let turns: Vec<serde_json::Value> = s
                .turns
                .iter()
                .map(|t| {
                    json!([
                        t.input_length,
                        t.output_length,
                        (t.delay_ms * 10.0).round() / 10.0,
                        t.hash_ids.len()
                    ])
                })
                .collect();
            json!({"id": s.id, "turns": turns})
        })
        .collect();
    let prefix_blocks = (config.cache.layer1_tokens.div_ceil(config.block_size)
        + config.cache.layer1_5_tokens.div_ceil(config.block_size)) as f64;
    let body = format!(
        "<p>Concurrent users each run sessions one after another; a turn waits its delay, then \
         prefills the part of its prompt not already cached (an unbounded prefix cache: the \
         session's earlier turns and the shared L1/L1.5 prefix) and decodes its answer.</p>\
         <p><label>Users <input id=\"users\" type=\"number\" value=\"16\" min=\"1\"></label>\
         <label>Prefill tok/s <input id=\"prefill\" type=\"number\" value=\"20000\"></label>\
         <label>Decode tok/s <input id=\"decode\" type=\"number\" value=\"60\"></label>\
         <button id=\"run\">Replay</button></p><p id=\"summary\"></p>\
         <canvas id=\"chart\" width=\"1000\" height=\"320\" style=\"width:100%\"></canvas>\
         <script>const SESSIONS={};const BLOCK={};const SHARED={};{SIM_JS}</script>",
        script_json(&serde_json::Value::Array(data)),
        config.block_size,
        prefix_blocks
    );
    page("Agentic code session replay", &body)
}

const SIM_JS: &str = r##"
function replay(){const users=Math.max(1,+document.getElementById("users").value);
const pf=+document.getElementById("prefill").value,dc=+document.getElementById("decode").value;
const free=new Array(users).fill(0);let queue=SESSIONS.slice(),events=[],hit=0,total=0;
while(queue.length){let u=0;for(let i=1;i<users;i++){if(free[i]<free[u]){u=i;}}
const s=queue.shift();let t=free[u],prompt=0,cachedBlocks=0;
s.turns.forEach((turn,i)=>{const [added,out,delay,blocks]=turn;t+=i?delay/1000:0;
const isl=prompt+added;const cached=i?Math.min(isl,prompt):Math.min(isl,SHARED*BLOCK*(events.length?1:0));
hit+=cached;total+=isl;const dur=(isl-cached)/pf+out/dc;events.push([t,t+dur,isl]);
t+=dur;prompt=isl+out;});free[u]=t;}
const end=Math.max(...events.map(e=>e[1]));const n=200,tokens=new Array(n).fill(0),busy=new Array(n).fill(0);
events.forEach(([a,b,isl])=>{for(let k=Math.floor(a/end*(n-1));k<=Math.floor(b/end*(n-1));k++){tokens[k]+=isl;busy[k]++;}});
document.getElementById("summary").textContent=SESSIONS.length+" sessions in "+(end/60).toFixed(1)+
" min; prompt tokens served from cache: "+(100*hit/Math.max(1,total)).toFixed(1)+"%";
const c=document.getElementById("chart"),g=c.getContext("2d");g.clearRect(0,0,c.width,c.height);
const top=Math.max(1,...tokens);g.strokeStyle="#76b900";g.beginPath();
tokens.forEach((v,k)=>{const x=40+k*(c.width-60)/(n-1),y=c.height-30-v/top*(c.height-60);k?g.lineTo(x,y):g.moveTo(x,y);});
g.stroke();g.fillStyle="#222";g.fillText("prompt tokens in flight (max "+top+")",45,15);
g.fillText("0",30,c.height-15);g.fillText((end/60).toFixed(1)+" min",c.width-60,c.height-15);}
document.getElementById("run").onclick=replay;replay();
"##;
