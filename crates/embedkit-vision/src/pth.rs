//! PyTorch checkpoints (`torch.save(model.state_dict())`, `.pth` / `.pt`) read without
//! Python, in both formats torch writes:
//!
//! * **zip** (torch ≥ 1.6): `<name>/data.pkl` holds the pickled dict, `<name>/data/<key>`
//!   the raw little-endian bytes of each storage;
//! * **legacy** (older torch, e.g. torchvision's original MobileNetV2 file): five pickles in a
//!   row (magic number, protocol version, system info, the dict, the storage keys), then
//!   each storage as an `i64` element count followed by its bytes.
//!
//! Pickle is a program, not data: a general unpickler can be made to call any Python
//! function. This one is an interpreter for the opcodes `torch.save` emits that knows exactly
//! four globals (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
//! `torch._utils._rebuild_parameter` and the `torch.*Storage` types) and refuses everything
//! else, so a checkpoint can only ever produce containers, numbers, strings and tensors.
//! Written here because no Rust crate reads the legacy format, and the zip reader of the
//! crates that do read the newer one (candle) comes with a whole tensor library.

use crate::state_dict::Tensor;
use std::collections::HashMap;
use std::io::{Cursor, Read};

/// Element types of storages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
    F16,
    BF16,
    /// Integer or boolean storages: read past, never returned (e.g. `num_batches_tracked`).
    Other(usize),
}

impl Dtype {
    fn from_storage_name(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "LongStorage" => Self::Other(8),
            "IntStorage" => Self::Other(4),
            "ShortStorage" => Self::Other(2),
            "CharStorage" | "ByteStorage" | "BoolStorage" => Self::Other(1),
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
            Self::F16 | Self::BF16 => 2,
            Self::Other(n) => n,
        }
    }
}

/// The only callables a checkpoint may name.
#[derive(Debug, Clone, PartialEq)]
enum Global {
    OrderedDict,
    RebuildTensor,
    RebuildParameter,
    Storage(Dtype),
}

#[derive(Debug, Clone)]
struct StorageRef {
    key: String,
    dtype: Dtype,
}

#[derive(Debug, Clone)]
struct TensorRef {
    storage: StorageRef,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

// Every value a pickle can push is parsed to keep the stack right; only tensors, strings and
// containers are read afterwards.
#[allow(dead_code)]
#[derive(Debug, Clone)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(Global),
    Storage(StorageRef),
    Tensor(TensorRef),
}

/// Whether `bytes` start like a PyTorch checkpoint: a zip, or the legacy format's first
/// pickle (protocol 2, then the 10-byte magic number). A safetensors file starts with its
/// header length, whose first byte can be anything, so a lone 0x80 proves nothing.
pub fn is_checkpoint(bytes: &[u8]) -> bool {
    const LEGACY: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(LEGACY)
}

/// Reads a checkpoint's floating-point tensors (integer tensors are skipped).
pub fn read(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_zip(bytes)
    } else {
        read_legacy(bytes)
    }
}

fn read_zip(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("zip: {e}"))?;
    let pkl = zip
        .file_names()
        .find(|n| *n == "data.pkl" || n.ends_with("/data.pkl"))
        .ok_or("zip checkpoint without data.pkl")?
        .to_string();
    let prefix = &pkl[..pkl.len() - "data.pkl".len()];
    let program = read_entry(&mut zip, &pkl)?;
    let (root, _) = Unpickler::new(&program).run()?;
    let entries = state_dict_entries(root)?;
    let mut storages = HashMap::new();
    for (_, tensor) in &entries {
        let key = &tensor.storage.key;
        if !storages.contains_key(key) {
            let data = read_entry(&mut zip, &format!("{prefix}data/{key}"))?;
            storages.insert(key.clone(), data);
        }
    }
    materialize(entries, &storages)
}

fn read_entry(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Vec<u8>, String> {
    let mut file = zip
        .by_name(name)
        .map_err(|e| format!("zip entry {name}: {e}"))?;
    let mut out = Vec::with_capacity(file.size().min(1 << 30) as usize);
    file.read_to_end(&mut out)
        .map_err(|e| format!("zip entry {name}: {e}"))?;
    Ok(out)
}

fn read_legacy(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    const MAGIC: i64 = 0x1950a86a20f9469cfc6c_i128 as i64;
    let mut pos = 0;
    let mut next = |what: &str| -> Result<Value, String> {
        let (v, used) = Unpickler::new(&bytes[pos..])
            .run()
            .map_err(|e| format!("{what}: {e}"))?;
        pos += used;
        Ok(v)
    };
    match next("magic number")? {
        Value::Int(m) if m == MAGIC => {}
        _ => return Err("not a PyTorch checkpoint (no magic number)".into()),
    }
    next("protocol version")?;
    next("system info")?;
    let root = next("state dict")?;
    let keys = match next("storage keys")? {
        Value::List(keys) => keys,
        _ => return Err("storage key list is not a list".into()),
    };
    let entries = state_dict_entries(root)?;
    let mut dtypes: HashMap<&str, Dtype> = HashMap::new();
    for (_, t) in &entries {
        dtypes.insert(&t.storage.key, t.storage.dtype);
    }
    let mut storages = HashMap::new();
    for key in keys {
        let Value::Str(key) = key else {
            return Err("storage key is not a string".into());
        };
        let header = bytes
            .get(pos..pos + 8)
            .ok_or("file ends inside the storages (truncated download?)")?;
        let count = i64::from_le_bytes(header.try_into().expect("8 bytes"));
        let size = dtypes.get(key.as_str()).map_or(4, |d| d.size());
        let len = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(size))
            .ok_or("bad storage length")?;
        let data = bytes
            .get(pos + 8..pos + 8 + len)
            .ok_or("file ends inside the storages (truncated download?)")?;
        pos += 8 + len;
        storages.insert(key, data.to_vec());
    }
    materialize(entries, &storages)
}

/// The `(name, tensor)` pairs of a loaded dict: the top level, or a `state_dict` / `model`
/// entry of a training checkpoint.
fn state_dict_entries(root: Value) -> Result<Vec<(String, TensorRef)>, String> {
    let Value::Dict(items) = root else {
        return Err("the checkpoint does not hold a dict of tensors".into());
    };
    if !items.iter().any(|(_, v)| matches!(v, Value::Tensor(_))) {
        for (k, v) in items {
            if let (Value::Str(k), Value::Dict(_)) = (&k, &v) {
                if k == "state_dict" || k == "model" {
                    return state_dict_entries(v);
                }
            }
        }
        return Err("the checkpoint holds no tensors".into());
    }
    Ok(items
        .into_iter()
        .filter_map(|(k, v)| match (k, v) {
            (Value::Str(k), Value::Tensor(t)) => Some((k, t)),
            _ => None,
        })
        .collect())
}

fn materialize(
    entries: Vec<(String, TensorRef)>,
    storages: &HashMap<String, Vec<u8>>,
) -> Result<HashMap<String, Tensor>, String> {
    let mut out = HashMap::new();
    for (name, t) in entries {
        if matches!(t.storage.dtype, Dtype::Other(_)) {
            continue;
        }
        let raw = storages
            .get(&t.storage.key)
            .ok_or_else(|| format!("{name}: storage {} is missing", t.storage.key))?;
        let size = t.storage.dtype.size();
        let elements = raw.len() / size;
        let numel = t
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| format!("{name}: shape too large"))?;
        // Last element index reached through the strides must lie inside the storage.
        let last = t.offset
            + t.shape
                .iter()
                .zip(&t.stride)
                .map(|(&d, &s)| d.saturating_sub(1) * s)
                .sum::<usize>();
        if numel > 0 && last >= elements {
            return Err(format!("{name}: tensor reaches past its storage"));
        }
        let read = |i: usize| -> f32 {
            let b = &raw[i * size..(i + 1) * size];
            match t.storage.dtype {
                Dtype::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                Dtype::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32,
                Dtype::F16 => half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
                Dtype::BF16 => half::bf16::from_le_bytes([b[0], b[1]]).to_f32(),
                Dtype::Other(_) => unreachable!("skipped above"),
            }
        };
        let mut data = Vec::with_capacity(numel);
        let mut index = vec![0usize; t.shape.len()];
        for _ in 0..numel {
            let at = t.offset
                + index
                    .iter()
                    .zip(&t.stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            data.push(read(at));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < t.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        out.insert(
            name,
            Tensor {
                shape: t.shape,
                data,
            },
        );
    }
    Ok(out)
}

/// The pickle virtual machine, restricted as described in the module comment.
struct Unpickler<'a> {
    code: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    fn new(code: &'a [u8]) -> Self {
        Self {
            code,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self.code.get(self.pos..end).ok_or("pickle ends early")?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().expect("4")))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.code[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("pickle ends early")?;
        self.pos += end + 1;
        String::from_utf8(rest[..end].to_vec()).map_err(|_| "bad global name".to_string())
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".into())
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self.marks.pop().ok_or("pickle mark missing")?;
        if mark > self.stack.len() {
            return Err("pickle mark beyond the stack".into());
        }
        Ok(self.stack.split_off(mark))
    }

    fn top(&mut self) -> Result<&mut Value, String> {
        self.stack
            .last_mut()
            .ok_or_else(|| "pickle stack underflow".into())
    }

    /// Runs to `STOP`; returns the result and the number of bytes read.
    fn run(mut self) -> Result<(Value, usize), String> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.bytes(8)?; // FRAME: a length hint
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok((v, self.pos));
                }
                b'(' => self.marks.push(self.stack.len()),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err("pickle stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(items));
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Dict(pairs(items)?));
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top()? {
                        Value::List(l) => l.push(v),
                        _ => return Err("APPEND to a non-list".into()),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top()? {
                        Value::List(l) => l.extend(items),
                        _ => return Err("APPENDS to a non-list".into()),
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err("SETITEM on a non-dict".into()),
                    }
                }
                b'u' => {
                    let items = pairs(self.pop_mark()?)?;
                    match self.top()? {
                        Value::Dict(d) => d.extend(items),
                        _ => return Err("SETITEMS on a non-dict".into()),
                    }
                }
                b'q' => {
                    let i = self.u8()? as u32;
                    self.memoize(i)?;
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memoize(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    self.memoize(i)?;
                }
                b'h' | b'j' => {
                    let i = if op == b'h' {
                        self.u8()? as u32
                    } else {
                        self.u32()?
                    };
                    let v = self.memo.get(&i).ok_or("pickle memo miss")?.clone();
                    self.stack.push(v);
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.bytes(4)?.try_into().expect("4"));
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.bytes(2)?.try_into().expect("2"));
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.bytes(n)?;
                    // Little-endian two's complement; wider than i64 keeps the low 64 bits
                    // (only the legacy magic number is that wide).
                    let mut v: i128 = 0;
                    for (i, &byte) in b.iter().enumerate().take(16) {
                        v |= (byte as i128) << (8 * i);
                    }
                    if n > 0 && n < 16 && b[n - 1] & 0x80 != 0 {
                        v -= 1i128 << (8 * n);
                    }
                    self.stack.push(Value::Int(v as i64));
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.bytes(8)?.try_into().expect("8"));
                    self.stack.push(Value::Float(v));
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'X' | 0x8c | 0x8d | b'U' | b'T' => {
                    let n = match op {
                        0x8c | b'U' => self.u8()? as usize,
                        0x8d => u64::from_le_bytes(self.bytes(8)?.try_into().expect("8")) as usize,
                        _ => self.u32()? as usize,
                    };
                    let s = String::from_utf8_lossy(self.bytes(n)?).into_owned();
                    self.stack.push(Value::Str(s));
                }
                b'C' | b'B' => {
                    let n = if op == b'C' {
                        self.u8()? as usize
                    } else {
                        self.u32()? as usize
                    };
                    let b = self.bytes(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(global(&module, &name)?));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.stack.push(Value::Global(global(&m, &n)?))
                        }
                        _ => return Err("STACK_GLOBAL without names".into()),
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(persistent_load(pid)?);
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.stack.push(call(callable, args)?);
                }
                b'b' => {
                    // BUILD sets attributes (an OrderedDict's `_metadata`): not needed.
                    self.pop()?;
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                _ => return Err(format!("unsupported pickle opcode 0x{op:02x}")),
            }
        }
    }

    fn memoize(&mut self, index: u32) -> Result<(), String> {
        let v = self.top()?.clone();
        self.memo.insert(index, v);
        Ok(())
    }
}

fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err("odd number of dict items".into());
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

fn global(module: &str, name: &str) -> Result<Global, String> {
    match (module, name) {
        ("collections", "OrderedDict") => Ok(Global::OrderedDict),
        ("torch._utils", "_rebuild_tensor_v2") => Ok(Global::RebuildTensor),
        ("torch._utils", "_rebuild_parameter") => Ok(Global::RebuildParameter),
        ("torch", s) => Dtype::from_storage_name(s)
            .map(Global::Storage)
            .ok_or_else(|| format!("refusing to load torch.{s}: only tensors are read")),
        _ => Err(format!(
            "refusing to load {module}.{name}: a checkpoint may only hold tensors"
        )),
    }
}

/// `('storage', StorageType, key, location, numel[, view metadata])`.
fn persistent_load(pid: Value) -> Result<Value, String> {
    let Value::Tuple(items) = pid else {
        return Err("persistent id is not a tuple".into());
    };
    match items.as_slice() {
        [Value::Str(tag), Value::Global(Global::Storage(dtype)), Value::Str(key), ..]
            if tag == "storage" =>
        {
            Ok(Value::Storage(StorageRef {
                key: key.clone(),
                dtype: *dtype,
            }))
        }
        _ => Err("unsupported persistent id".into()),
    }
}

fn usize_list(v: &Value) -> Option<Vec<usize>> {
    match v {
        Value::Tuple(items) | Value::List(items) => items
            .iter()
            .map(|x| match x {
                Value::Int(i) => usize::try_from(*i).ok(),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn call(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Tuple(args) = args else {
        return Err("call arguments are not a tuple".into());
    };
    match callable {
        Value::Global(Global::OrderedDict) => Ok(Value::Dict(Vec::new())),
        Value::Global(Global::RebuildTensor) => match args.as_slice() {
            [Value::Storage(s), Value::Int(offset), size, stride, ..] => {
                let shape = usize_list(size).ok_or("bad tensor size")?;
                let stride = usize_list(stride).ok_or("bad tensor stride")?;
                if shape.len() != stride.len() {
                    return Err("tensor size and stride differ in length".into());
                }
                Ok(Value::Tensor(TensorRef {
                    storage: s.clone(),
                    offset: usize::try_from(*offset).map_err(|_| "bad tensor offset")?,
                    shape,
                    stride,
                }))
            }
            _ => Err("bad _rebuild_tensor_v2 arguments".into()),
        },
        Value::Global(Global::RebuildParameter) => match args.into_iter().next() {
            Some(t @ Value::Tensor(_)) => Ok(t),
            _ => Err("bad _rebuild_parameter arguments".into()),
        },
        _ => Err("the checkpoint calls something that is not a tensor constructor".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_code_execution() {
        // pickle.dumps of os.system('echo hi') at protocol 2.
        let evil = b"\x80\x02cposix\nsystem\nq\x00X\x07\x00\x00\x00echo hiq\x01\x85q\x02Rq\x03.";
        let err = Unpickler::new(evil).run().unwrap_err();
        assert!(err.contains("refusing to load posix.system"), "{err}");
        let err = read(evil).unwrap_err();
        assert!(err.contains("refusing"), "{err}");
    }

    #[test]
    fn reads_containers_and_numbers() {
        // pickle.dumps({'a': [1, -2, 300, 70000, 1.5, None, True], 'b': (2**40, 'x')}, 2)
        let code = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffM,\x01Jp\x11\x01\x00G?\xf8\x00\x00\x00\x00\x00\x00N\x88eX\x01\x00\x00\x00bq\x03\x8a\x06\x00\x00\x00\x00\x00\x01X\x01\x00\x00\x00xq\x04\x86q\x05u.";
        let (v, used) = Unpickler::new(code).run().unwrap();
        assert_eq!(used, code.len());
        let Value::Dict(items) = v else { panic!() };
        let Value::List(a) = &items[0].1 else {
            panic!()
        };
        let ints: Vec<_> = a
            .iter()
            .map(|v| match v {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                Value::None => -1e9,
                Value::Bool(b) => *b as i64 as f64,
                _ => panic!(),
            })
            .collect();
        assert_eq!(ints, vec![1.0, -2.0, 300.0, 70000.0, 1.5, -1e9, 1.0]);
        let Value::Tuple(b) = &items[1].1 else {
            panic!()
        };
        assert!(matches!(b[0], Value::Int(v) if v == 1 << 40));
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(read(b"\x80\x02}q\x00(X\x05\x00\x00").is_err());
        assert!(read(b"PK\x03\x04garbage").is_err());
    }
}
