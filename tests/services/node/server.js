// A small job service in Node.js (plain http and fs, no packages), for jobharness's tests.
//
//   node server.js --port PORT --data DIR [--row-delay-ms N] [--broken]
//
// Its API is NOT the incident's, so that the harness's API profile (profile.toml) is exercised:
//   POST /api/jobs            multipart, the CSV in field "csv"  -> 201 {"jobId", "state": "pending"}
//   GET  /api/jobs/{id}       -> 200 {"jobId", "state": pending|working|finished|failed|lost, "message"?}
//   GET  /api/jobs/{id}/result -> 200 text/csv once finished; 409 before; 404 unknown
//   GET  /health              -> 200 {"ok": true}
//
// Storage: DIR/jobs/<id>.json (and .json.bak), DIR/uploads/<id>.csv, DIR/results/<id>.csv.
// Every file is written atomically and durably: a uniquely named temp file, fsync, the current
// job file renamed to .bak, the temp renamed into place, the directory fsynced. A read falls
// back to the backup when the job file is missing, empty, not JSON, or fails its checksum (a
// flipped digit is still valid JSON). On start, jobs left pending or working by a previous
// process are failed with a message, and temp files removed.
//
// --broken is the incident's pre-fix design, for the harness to catch: job files written in
// place (no temp file, no fsync, no backup), a damaged job file answered with 500, and no
// recovery at start (a job whose process was killed stays "working" forever).
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const path = require("path");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const PORT = Number(option("--port", "8080"));
const DATA = option("--data", "data");
const ROW_DELAY_MS = Number(option("--row-delay-ms", "2"));
const BROKEN = args.includes("--broken");
const JOBS = path.join(DATA, "jobs");
const UPLOADS = path.join(DATA, "uploads");
const RESULTS = path.join(DATA, "results");
for (const dir of [JOBS, UPLOADS, RESULTS]) fs.mkdirSync(dir, { recursive: true });

const ID = /^[0-9a-f]{16}$/;
let tempCounter = 0;

function fsyncDir(dir) {
  const fd = fs.openSync(dir, "r");
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

// Temp file, fsync, (rotate the current file to .bak), rename, fsync the directory.
function writeDurably(file, bytes, keepBackup) {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${tempCounter++}.tmp`);
  const fd = fs.openSync(temp, "wx");
  try { fs.writeSync(fd, bytes); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  if (keepBackup && fs.existsSync(file) && readJob(file) !== null) fs.renameSync(file, file + ".bak");
  fs.renameSync(temp, file);
  fsyncDir(dir);
}

function encodeJob(job) {
  const body = JSON.stringify(job);
  const sum = crypto.createHash("sha256").update(body).digest("hex");
  return JSON.stringify({ sum, body });
}

// The job in one file, or null when the file is missing or damaged in any way.
function readJob(file) {
  let text;
  try { text = fs.readFileSync(file, "utf8"); } catch { return null; }
  try {
    const outer = JSON.parse(text);
    const sum = crypto.createHash("sha256").update(outer.body).digest("hex");
    return sum === outer.sum ? JSON.parse(outer.body) : null;
  } catch { return null; }
}

function jobFile(id) { return path.join(JOBS, `${id}.json`); }

// The backup is the version before the current one, except that a finished or failed job, and
// a job with no good copy at all, gets the new version in both files: a damaged job file must
// never make a finished job look unfinished again, nor leave a first version with no copy.
function saveJob(job) {
  const file = jobFile(job.jobId);
  if (BROKEN) { fs.writeFileSync(file, JSON.stringify(job)); return; }
  const bytes = encodeJob(job);
  const final = job.state === "finished" || job.state === "failed";
  if (final || (readJob(file) === null && readJob(file + ".bak") === null)) {
    writeDurably(file + ".bak", bytes, false);
    writeDurably(file, bytes, false);
  } else {
    writeDurably(file, bytes, true);
  }
}

// What GET answers: the job, its backup, or "lost" naming why (never an exception).
function loadJob(id) {
  const file = jobFile(id);
  if (BROKEN) {
    if (!fs.existsSync(file)) return null;
    return JSON.parse(fs.readFileSync(file, "utf8")); // throws on a damaged file: a 500
  }
  const job = readJob(file);
  if (job) return job;
  const backup = readJob(file + ".bak");
  if (backup) return backup;
  if (!fs.existsSync(file) && !fs.existsSync(file + ".bak")) return null;
  return { jobId: id, state: "lost", message: "job file and backup unreadable (damaged on disk)" };
}

// ------------------------------------------------------------------ the worker
const queue = [];
let working = false;

function enrich(csv) {
  const lines = csv.split(/\r?\n/).filter((line) => line.length > 0);
  return lines.map((line, n) => `${line},${n === 0 ? "len" : line.length}`).join("\r\n") + "\r\n";
}

function runNext() {
  if (working || queue.length === 0) return;
  working = true;
  const id = queue.shift();
  const job = loadJob(id);
  if (!job || job.state !== "pending") { working = false; setImmediate(runNext); return; }
  job.state = "working";
  try { saveJob(job); } catch (error) { return failJob(id, error); }
  const upload = fs.readFileSync(path.join(UPLOADS, `${id}.csv`), "utf8");
  const rows = upload.split(/\r?\n/).length;
  setTimeout(() => {
    try {
      const result = path.join(RESULTS, `${id}.csv`);
      if (BROKEN) fs.writeFileSync(result, enrich(upload));
      else writeDurably(result, enrich(upload), false);
      job.state = "finished";
      saveJob(job);
    } catch (error) { return failJob(id, error); }
    working = false;
    setImmediate(runNext);
  }, rows * ROW_DELAY_MS);
}

function failJob(id, error) {
  try { saveJob({ jobId: id, state: "failed", message: `the job could not be written: ${error.code || ""} ${error.message}` }); } catch {}
  working = false;
  setImmediate(runNext);
}

function recover() {
  if (BROKEN) return;
  const ids = new Set();
  for (const name of fs.readdirSync(JOBS)) {
    if (name.endsWith(".tmp")) { fs.rmSync(path.join(JOBS, name), { force: true }); continue; }
    // A job whose file was lost still has its backup: it must be recovered too.
    const match = /^([0-9a-f]{16})\.json(\.bak)?$/.exec(name);
    if (match) ids.add(match[1]);
  }
  for (const id of ids) {
    const job = loadJob(id);
    if (job && (job.state === "pending" || job.state === "working")) {
      saveJob({ jobId: id, state: "failed", message: "interrupted: the server restarted while this job ran; submit it again" });
    }
  }
}

// ------------------------------------------------------------------ HTTP
function send(res, code, body, type = "application/json") {
  res.writeHead(code, { "content-type": type });
  res.end(type === "application/json" ? JSON.stringify(body) : body);
}

function csvPart(req, body) {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers["content-type"] || "");
  if (!match) return null;
  const boundary = "--" + (match[1] || match[2]);
  for (const part of body.toString("utf8").split(boundary)) {
    const head = part.indexOf("\r\n\r\n");
    if (head < 0 || !/name="csv"/.test(part.slice(0, head))) continue;
    return part.slice(head + 4).replace(/\r\n$/, "");
  }
  return null;
}

function submit(req, res, body) {
  const csv = csvPart(req, body);
  if (csv === null) return send(res, 400, { message: "expected multipart/form-data with the CSV in field csv" });
  const id = crypto.randomBytes(8).toString("hex");
  try {
    if (BROKEN) fs.writeFileSync(path.join(UPLOADS, `${id}.csv`), csv);
    else writeDurably(path.join(UPLOADS, `${id}.csv`), csv, false);
    saveJob({ jobId: id, state: "pending" });
  } catch (error) {
    return send(res, 503, { message: `storage unavailable: ${error.code || ""} ${error.message}` });
  }
  queue.push(id);
  setImmediate(runNext);
  send(res, 201, { jobId: id, state: "pending" });
}

function route(req, res, body) {
  const url = new URL(req.url, "http://localhost");
  const parts = url.pathname.split("/").filter(Boolean);
  if (req.method === "GET" && url.pathname === "/health") return send(res, 200, { ok: true });
  if (req.method === "POST" && url.pathname === "/api/jobs") return submit(req, res, body);
  if (req.method !== "GET" || parts[0] !== "api" || parts[1] !== "jobs" || !parts[2]) {
    return send(res, 404, { message: "no such route" });
  }
  const id = parts[2];
  if (!ID.test(id)) return send(res, 404, { message: "no such job" });
  let job;
  try { job = loadJob(id); } catch (error) {
    return send(res, 500, { message: `Internal Server Error: ${error.message}` });
  }
  if (!job) return send(res, 404, { message: "no such job" });
  if (parts.length === 3) return send(res, 200, job);
  if (parts[3] !== "result") return send(res, 404, { message: "no such route" });
  if (job.state !== "finished") return send(res, 409, { message: `the job is ${job.state}, not finished`, state: job.state });
  try { return send(res, 200, fs.readFileSync(path.join(RESULTS, `${id}.csv`)), "text/csv"); } catch (error) {
    return send(res, 410, { message: `the result file is gone: ${error.code}` });
  }
}

recover();
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => route(req, res, Buffer.concat(chunks)));
});
server.listen(PORT, "127.0.0.1");
process.on("SIGTERM", () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
