#!/usr/bin/env python3
"""Score `bikriagent converse` on the reply-quality evaluation set.

Usage:
    python3 src/pipeline/eval/score.py --bin PATH_TO_bikriagent --set src/pipeline/eval/dev.jsonl \
        [--show-failures] [--json OUT] [--shops-dir DIR] [--timeout SECONDS]

For every shop named in the set, the binary is run once as
`PATH converse --shop <shops-dir>/<shop>.json` and fed all of that shop's turns as JSON lines
({"conversation": id, "text": ...}); it must print one JSON line per input line. See README.md.

Standard library only. Exits 0 unless the binary cannot be run (2) or the set cannot be read (2).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict, OrderedDict
from decimal import Decimal, InvalidOperation

BN_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")

BANGLISH_WORDS = {
    "apnar", "apni", "ache", "nai", "taka", "koto", "hobe", "din", "ji", "dhonnobad", "korben", "korte",
    "kore", "amra", "er", "ta", "ki", "ekta", "dibo", "pathan", "thakbe", "jonno", "theke", "shathe", "sathe",
}

# Share of Banglish marker words (with at least two of them) above which an "en" reply counts as Banglish.
EN_BANGLISH_SHARE = 0.25

REVIEW_ACTIONS = ("review", "hold")

PHONE_RE = re.compile(r"(?<![\d])(?:\+?88[\s-]?)?0[\s-]?1(?:[\s-]?\d){9}(?!\d)")
TIME_RE = re.compile(r"(?<!\d)(\d{1,2}):00(?!\d)")
NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
COMMA_RE = re.compile(r"(?<=\d),(?=\d)")
WORD_RE = re.compile(r"[a-z]+")
SPACE_RE = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------------
# Text helpers


def normalise(text):
    """NFC, Bangla digits to ASCII, commas between digits removed, lowercase; phone numbers written
    with spaces, dashes or a +88 prefix are joined to their 11 digits; "10:00" becomes "10"."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = unicodedata.normalize("NFC", text).translate(BN_DIGITS)
    text = COMMA_RE.sub("", text).lower()

    def join_phone(m):
        digits = re.sub(r"\D", "", m.group(0))
        if digits.startswith("88") and len(digits) == 13:
            digits = digits[2:]
        return digits

    text = PHONE_RE.sub(join_phone, text)
    text = TIME_RE.sub(r"\1", text)
    return text


def canon_number(token):
    """'1850.00' -> '1850', '99.50' -> '99.5', '0120' stays '0120' (leading zeros kept)."""
    if "." in token:
        whole, frac = token.split(".", 1)
        frac = frac.rstrip("0")
        return whole + ("." + frac if frac else "")
    return token


def numbers_in(text_normalised):
    return [canon_number(t) for t in NUMBER_RE.findall(text_normalised)]


def money(value):
    """Plain decimal string of a money value, or None."""
    if value is None:
        return None
    try:
        d = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def digit_len(token):
    return sum(c.isdigit() for c in token)


def is_number_fact(s):
    return re.fullmatch(r"\d+(?:\.\d+)?", s) is not None


def contains(reply_norm, reply_numbers, needle):
    """A fact or forbid string appears in the reply. A purely numeric needle must be a whole number
    in the reply ("120" does not match "1200"); anything else is a substring match."""
    n = normalise(needle).strip()
    if not n:
        return True
    if is_number_fact(n):
        c = canon_number(n)
        return c in reply_numbers or (c.lstrip("0") or "0") in {x.lstrip("0") or "0" for x in reply_numbers}
    return n in reply_norm


def letter_counts(text):
    bn = latin = 0
    for ch in text:
        if not unicodedata.category(ch).startswith("L"):
            continue
        o = ord(ch)
        if 0x0980 <= o <= 0x09FF:
            bn += 1
        elif o < 0x0250:
            latin += 1
    return bn, latin


def owner_strings(shop):
    """Every text the owner wrote in the shop file (names, instructions, FAQ
    answers, address, hours, policy, descriptions, zone names), longest first.
    A reply may quote these as written, in whatever language the owner wrote
    them: the language check judges only the agent's own words."""
    out = []

    def add(value):
        if isinstance(value, str) and len(value.strip()) >= 3:
            out.append(value.strip())

    profile = shop.get("profile") or {}
    for key in ("name", "description", "address", "opening_hours", "return_policy", "city"):
        add(profile.get(key))
    for area in shop.get("delivery_areas") or []:
        add(area.get("name"))
    for method in shop.get("payment_methods") or []:
        add(method.get("instructions"))
        add(method.get("label"))
    for product in shop.get("products") or []:
        for key in ("name", "name_bn", "description", "sku"):
            add(product.get(key))
        for variant in product.get("variants") or []:
            add(variant.get("size"))
            add(variant.get("colour"))
    for entry in shop.get("faq") or []:
        add(entry.get("answer"))
    rules = shop.get("rules") or {}
    for key in ("greeting", "away_message", "holding_message"):
        add(rules.get(key))
    return sorted(set(out), key=len, reverse=True)


def without_owner_text(text, strings):
    for value in strings:
        text = text.replace(value, " ")
    return text


def language_ok(text, language):
    """(ok, reason). Empty text is judged elsewhere. Pass the text without
    the owner's own strings (see owner_strings); a reply that is all owner
    text has nothing of the agent's to judge."""
    bn, latin = letter_counts(unicodedata.normalize("NFC", text))
    if bn + latin < 4:
        return True, ""
    if language == "bn":
        return (bn > latin, "" if bn > latin else "not Bangla (bn %d, latin %d)" % (bn, latin))
    if latin <= bn:
        return False, "not Latin script (bn %d, latin %d)" % (bn, latin)
    words = WORD_RE.findall(text.lower())
    markers = sum(1 for w in words if w in BANGLISH_WORDS)
    if language == "banglish":
        return (markers > 0, "" if markers else "no Banglish word")
    if language == "en":
        if words and markers >= 2 and markers / len(words) >= EN_BANGLISH_SHARE:
            return False, "reads as Banglish (%d of %d words)" % (markers, len(words))
        return True, ""
    return True, ""


def question_sentences(text_norm):
    out = []
    for part in re.split(r"(?<=[?？])", text_norm):
        part = part.strip()
        if part.endswith("?") or part.endswith("？"):
            # the last sentence before the question mark
            sent = re.split(r"[.!।\n]", part)[-1]
            key = SPACE_RE.sub(" ", re.sub(r"[^\w\s]", " ", sent)).strip()
            if key:
                out.append(key)
    return out


# ---------------------------------------------------------------------------------------------
# Allowed numbers


def shop_allowed_numbers(shop):
    allowed = set()
    dump = json.dumps(shop, ensure_ascii=False)
    for tok in numbers_in(normalise(dump)):
        allowed.add(tok)
    charges = []
    for area in shop.get("delivery_areas") or []:
        c = money(area.get("charge"))
        if c is not None:
            charges.append(Decimal(c))
            allowed.add(c)
    prices = set()
    for p in shop.get("products") or []:
        bases = [money(p.get("price")), money(p.get("sale_price"))]
        bases = [Decimal(b) for b in bases if b is not None]
        prices.update(bases)
        for v in p.get("variants") or []:
            delta = money(v.get("price_delta")) or "0"
            for b in bases:
                prices.add(b + Decimal(delta))
    # Stock goes down as a run's orders reserve it: any count up to the
    # file's stock is the shop's own number.
    for p in shop.get("products") or []:
        counts = [p.get("stock")] + [v.get("stock") for v in p.get("variants") or []]
        for count in counts:
            if isinstance(count, int):
                allowed.update(str(n) for n in range(0, count + 1))
    for price in prices:
        for q in range(1, 11):
            line = price * q
            allowed.add(money(line))
            for c in charges:
                allowed.add(money(line + c))
    return allowed


def order_numbers(order):
    nums = set()
    if not isinstance(order, dict):
        return nums

    def add(v):
        if v is None or isinstance(v, (dict, list)):
            return
        for tok in numbers_in(normalise(str(v))):
            nums.add(tok)

    for key in ("number", "delivery_charge", "total", "phone"):
        add(order.get(key))
    items = order.get("items")
    if isinstance(items, list):
        for it in items:
            if isinstance(it, dict):
                for key in ("quantity", "unit_price", "line_total"):
                    add(it.get(key))
    return nums


def allowed_has(allowed, tok):
    if tok in allowed:
        return True
    stripped = tok.lstrip("0") or "0"
    return stripped in allowed or ("0" + stripped) in allowed


# ---------------------------------------------------------------------------------------------
# Running the binary


def run_shop(binary, shop_path, lines, timeout):
    """Returns (outputs, problem, fatal). outputs: list of dicts (or None) aligned with lines."""
    payload = "".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines)
    try:
        proc = subprocess.Popen(
            [binary, "converse", "--shop", shop_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
    except OSError as e:
        return [None] * len(lines), "cannot run %s: %s" % (binary, e), True
    try:
        out, err = proc.communicate(payload.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        problem = "timed out after %ss" % timeout
    else:
        problem = ""
    parsed, stray = [], 0
    for raw in out.decode("utf-8", "replace").splitlines():
        raw = raw.strip()
        if not raw:
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            stray += 1
            continue
        if isinstance(obj, dict):
            parsed.append(obj)
        else:
            stray += 1
    if proc.returncode not in (0, None) and not problem:
        problem = "exit status %s" % proc.returncode
    errtail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
    if problem and errtail:
        problem += " (stderr: %s)" % " | ".join(errtail)
    if stray:
        problem = (problem + "; " if problem else "") + "%d non-JSON output lines ignored" % stray
    fatal = bool(problem) and not parsed and proc.returncode not in (0, None)

    # Align outputs with inputs: by position when that is consistent, else per conversation.
    if len(parsed) != len(lines):
        problem = (problem + "; " if problem else "") + "%d output lines for %d input lines" % (len(parsed), len(lines))
    # (a run that stopped early keeps its first answers; the missing turns count as failed)
    positional = len(parsed) <= len(lines) and all(
        ("conversation" not in o) or str(o.get("conversation")) == l["conversation"] for o, l in zip(parsed, lines)
    )
    if positional:
        return parsed + [None] * (len(lines) - len(parsed)), problem, fatal
    by_conv = defaultdict(list)
    for o in parsed:
        if "conversation" in o:
            by_conv[str(o.get("conversation"))].append(o)
    outputs, taken = [], Counter()
    for l in lines:
        queue = by_conv.get(l["conversation"], [])
        i = taken[l["conversation"]]
        outputs.append(queue[i] if i < len(queue) else None)
        taken[l["conversation"]] += 1
    return outputs, problem, fatal


# ---------------------------------------------------------------------------------------------
# Scoring


class Tally:
    def __init__(self):
        self.ok = 0
        self.n = 0

    def add(self, ok):
        self.n += 1
        self.ok += 1 if ok else 0

    def pct(self):
        return 100.0 * self.ok / self.n if self.n else 0.0

    def as_dict(self):
        return {"correct": self.ok, "total": self.n, "share": round(self.ok / self.n, 4) if self.n else None}


def order_matches(order, expected):
    if not isinstance(order, dict) or not isinstance(expected, dict):
        return False
    if money(order.get("total")) is None or money(order.get("total")) != money(expected.get("total")):
        return False
    got = Counter()
    items = order.get("items")
    if not isinstance(items, list):
        return False
    for it in items:
        if not isinstance(it, dict):
            return False
        try:
            got[str(it.get("sku"))] += int(str(it.get("quantity")))
        except (TypeError, ValueError):
            return False
    want = Counter()
    for it in expected.get("items") or []:
        want[str(it.get("sku"))] += int(it.get("quantity"))
    return got == want


def phone_digits(s):
    return re.sub(r"\D", "", normalise(s or ""))[-11:]


def score(items, outputs, shops):
    """items: list of items; outputs: {item id: [output dict or None per turn]}."""
    overall = Tally()
    by_intent, by_lang, by_shop, by_kind = (defaultdict(Tally) for _ in range(4))
    lang_share, lang_by_lang = Tally(), defaultdict(Tally)
    intent_agree = Tally()
    invented_total, invented_turns = 0, 0
    invented_examples = []
    loops, loop_ids = 0, []
    missed_orders = []
    orders, orders_phone = Tally(), Tally()
    persons = Tally()
    silent_reviews = 0
    errors = 0
    unsafe_replies = 0  # review expected, the agent answered
    over_cautious = 0  # reply expected, the agent sent it to the owner
    failures = []
    allowed_by_shop = {name: shop_allowed_numbers(shop) for name, shop in shops.items()}
    owner_by_shop = {name: owner_strings(shop) for name, shop in shops.items()}

    for item in items:
        iid, shop_name, lang, kind = item["id"], item["shop"], item["language"], item["kind"]
        outs = outputs.get(iid) or [None] * len(item["turns"])
        allowed_base = allowed_by_shop.get(shop_name, set())
        customer_numbers = set()
        # Numbers of any order object the agent shows in this conversation (a summary may state the
        # total a turn before the order object appears) and, for an order conversation, the expected
        # total and subtotal: stating the right total is not inventing a number.
        conv_order_numbers = set()
        for o in outs:
            if isinstance(o, dict) and isinstance(o.get("order"), dict):
                conv_order_numbers |= order_numbers(o["order"])
        if kind == "order" and isinstance(item.get("order"), dict):
            want_total = money(item["order"].get("total"))
            if want_total is not None:
                conv_order_numbers.add(want_total)
                for area in (shops.get(shop_name) or {}).get("delivery_areas") or []:
                    charge = money(area.get("charge"))
                    if charge is not None:
                        conv_order_numbers.add(money(Decimal(want_total) - Decimal(charge)))
        texts_seen, questions_seen = Counter(), Counter()
        person_ok = True
        captured, phone_ok = False, False
        for ti, turn in enumerate(item["turns"]):
            exp = turn.get("expect") or {}
            out = outs[ti] if ti < len(outs) else None
            reasons = []
            for tok in numbers_in(normalise(turn.get("text", ""))):
                customer_numbers.add(tok)
            if not isinstance(out, dict):
                out = {}
                reasons.append("no output")
                errors += 1
            elif "error" in out:
                reasons.append("error: %s" % out.get("error"))
                errors += 1
            action = out.get("action")
            text = out.get("text")
            if not isinstance(text, str):
                text = ""
            order = out.get("order")
            if isinstance(order, dict):
                if kind == "order" and order_matches(order, item.get("order")):
                    captured = True
                    want_phone = phone_digits((item.get("order") or {}).get("phone"))
                    phone_ok = phone_ok or (want_phone and phone_digits(str(order.get("phone") or "")) == want_phone)
            text_norm = normalise(text)
            reply_numbers = numbers_in(text_norm)

            if action in REVIEW_ACTIONS and not text.strip():
                silent_reviews += 1

            # action
            want_action = exp.get("action")
            if want_action:
                got_kind = "review" if action in REVIEW_ACTIONS else action
                if got_kind != want_action:
                    reasons.append("action %s, want %s" % (action, want_action))
                    if want_action == "review" and action == "reply":
                        unsafe_replies += 1
                    if want_action == "reply" and action in REVIEW_ACTIONS:
                        over_cautious += 1
                if want_action == "reply" and action == "reply" and not text.strip():
                    reasons.append("empty reply")
            elif action not in ("reply", "review", "hold"):
                reasons.append("no valid action")

            # facts and forbidden strings
            for fact in exp.get("facts") or []:
                if not contains(text_norm, reply_numbers, fact):
                    reasons.append("missing fact %r" % fact)
            for bad in exp.get("forbid") or []:
                if normalise(bad).strip() and contains(text_norm, reply_numbers, bad):
                    reasons.append("forbidden %r" % bad)

            # invented numbers
            invented = []
            for tok in reply_numbers:
                if digit_len(tok) < 2:
                    continue
                if allowed_has(allowed_base, tok) or tok in customer_numbers or tok in conv_order_numbers:
                    continue
                invented.append(tok)
            if invented:
                invented_total += len(invented)
                invented_turns += 1
                reasons.append("invented number(s) %s" % ", ".join(invented))
                if len(invented_examples) < 20:
                    invented_examples.append({"id": iid, "turn": ti, "numbers": invented})

            # language
            if text.strip():
                lok, lwhy = language_ok(without_owner_text(text, owner_by_shop.get(shop_name, [])), lang)
                lang_share.add(lok)
                lang_by_lang[lang].add(lok)
                if not lok:
                    reasons.append("language: %s" % lwhy)
                key = SPACE_RE.sub(" ", text_norm).strip()
                texts_seen[key] += 1
                for q in question_sentences(text_norm):
                    questions_seen[q] += 1
            elif action == "reply":
                lang_share.add(False)
                lang_by_lang[lang].add(False)

            # intent agreement (reported, not part of correctness)
            if exp.get("intent"):
                intent_agree.add(out.get("intent") == exp.get("intent"))

            # person acknowledgement
            if kind == "person" and want_action == "review":
                if not (action in REVIEW_ACTIONS and text.strip()):
                    person_ok = False

            ok = not reasons
            if exp:
                overall.add(ok)
                by_intent[exp.get("intent") or "(none)"].add(ok)
                by_lang[lang].add(ok)
                by_shop[shop_name].add(ok)
                by_kind[kind].add(ok)
            if not ok:
                failures.append({
                    "id": iid, "turn": ti, "language": lang, "text": turn.get("text", ""),
                    "expect": exp, "got": {"action": action, "text": text, "intent": out.get("intent"),
                                           "order": order if isinstance(order, dict) else None},
                    "reasons": reasons,
                })
        if texts_seen and (max(texts_seen.values()) >= 3 or (questions_seen and max(questions_seen.values()) >= 3)):
            loops += 1
            loop_ids.append(iid)
        if kind == "order":
            if not captured:
                missed_orders.append(iid)
            orders.add(captured)
            orders_phone.add(bool(captured and phone_ok))
        if kind == "person":
            persons.add(person_ok)

    return {
        "answer_accuracy": overall.as_dict(),
        "by_intent": {k: v.as_dict() for k, v in sorted(by_intent.items())},
        "by_language": {k: v.as_dict() for k, v in sorted(by_lang.items())},
        "by_shop": {k: v.as_dict() for k, v in sorted(by_shop.items())},
        "by_kind": {k: v.as_dict() for k, v in sorted(by_kind.items())},
        "invented_numbers": invented_total,
        "turns_with_invented_numbers": invented_turns,
        "invented_examples": invented_examples,
        "language_share": lang_share.as_dict(),
        "language_share_by_language": {k: v.as_dict() for k, v in sorted(lang_by_lang.items())},
        "intent_agreement": intent_agree.as_dict(),
        "loops": loops,
        "loop_conversations": loop_ids,
        "orders_missed": missed_orders,
        "orders_captured": orders.as_dict(),
        "orders_captured_with_phone": orders_phone.as_dict(),
        "persons_acknowledged": persons.as_dict(),
        "silent_reviews": silent_reviews,
        "unsafe_replies": unsafe_replies,
        "over_cautious_reviews": over_cautious,
        "failed_or_missing_turns": errors,
    }, failures


# ---------------------------------------------------------------------------------------------
# Report


def fmt(t):
    if not t["total"]:
        return "     -"
    return "%5.1f%%  (%d/%d)" % (100.0 * t["correct"] / t["total"], t["correct"], t["total"])


def print_report(res, problems, out=sys.stdout):
    w = out.write
    w("\nBikriAgent reply-quality evaluation\n")
    w("=" * 60 + "\n")
    w("%-34s %s\n" % ("answer accuracy (all turns)", fmt(res["answer_accuracy"])))
    for title, key in (("by intent", "by_intent"), ("by language", "by_language"), ("by shop", "by_shop"),
                       ("by kind", "by_kind")):
        w("\n%s\n" % title)
        for k, v in res[key].items():
            w("  %-32s %s\n" % (k, fmt(v)))
    w("\n")
    rows = [
        ("invented numbers", "%d (in %d turns)" % (res["invented_numbers"], res["turns_with_invented_numbers"])),
        ("replies in the right language", fmt(res["language_share"])),
    ]
    for k, v in res["language_share_by_language"].items():
        rows.append(("  language share, %s" % k, fmt(v)))
    rows += [
        ("intent agreement", fmt(res["intent_agreement"])),
        ("loops (conversations)", str(res["loops"])),
        ("orders captured", fmt(res["orders_captured"])),
        ("  ... with the right phone", fmt(res["orders_captured_with_phone"])),
        ("persons acknowledged", fmt(res["persons_acknowledged"])),
        ("silent reviews", str(res["silent_reviews"])),
        ("unsafe replies (review expected)", str(res["unsafe_replies"])),
        ("over-cautious reviews", str(res["over_cautious_reviews"])),
        ("failed or missing turns", str(res["failed_or_missing_turns"])),
    ]
    for k, v in rows:
        w("%-34s %s\n" % (k, v))
    for p in problems:
        w("warning: %s\n" % p)


def print_failures(failures, out=sys.stdout):
    w = out.write
    w("\nFailures (%d)\n" % len(failures))
    w("-" * 60 + "\n")
    for f in failures:
        exp = f["expect"]
        got = f["got"]
        w("%s turn %d [%s] %s\n" % (f["id"], f["turn"] + 1, f["language"], f["text"]))
        w("  expected: action=%s intent=%s facts=%s forbid=%s\n" % (
            exp.get("action"), exp.get("intent"), exp.get("facts", []), exp.get("forbid", [])))
        w("  got:      action=%s intent=%s text=%s\n" % (got.get("action"), got.get("intent"),
                                                       json.dumps(got.get("text"), ensure_ascii=False)))
        if got.get("order"):
            w("  order:    %s\n" % json.dumps(got["order"], ensure_ascii=False))
        w("  why:      %s\n" % "; ".join(f["reasons"]))


def load_items(path):
    items = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except ValueError as e:
                raise SystemExit("error: %s line %d: %s" % (path, n, e))
            if not isinstance(item, dict) or not item.get("id") or not item.get("shop") or not item.get("turns"):
                raise SystemExit("error: %s line %d: not an evaluation item" % (path, n))
            item.setdefault("language", "en")
            item.setdefault("kind", "question")
            items.append(item)
    return items


def main(argv=None):
    ap = argparse.ArgumentParser(description="Score bikriagent converse on the evaluation set.")
    ap.add_argument("--bin", required=True, help="path to the bikriagent binary")
    ap.add_argument("--set", required=True, help="a .jsonl file of evaluation items (dev.jsonl or heldout.jsonl)")
    ap.add_argument("--shops-dir", help="directory of <shop>.json files (default: shops/ next to --set)")
    ap.add_argument("--show-failures", action="store_true", help="print every failed turn")
    ap.add_argument("--json", metavar="OUT", help="write the numbers as JSON to OUT")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per shop run (default 900)")
    args = ap.parse_args(argv)

    try:
        items = load_items(args.set)
    except OSError as e:
        print("error: cannot read %s: %s" % (args.set, e), file=sys.stderr)
        return 2
    shops_dir = args.shops_dir or os.path.join(os.path.dirname(args.set), "shops")

    per_shop = OrderedDict()
    for item in items:
        per_shop.setdefault(item["shop"], []).append(item)

    shops, outputs, problems = {}, {}, []
    fatal_any = False
    for shop_name, shop_items in per_shop.items():
        shop_path = os.path.join(shops_dir, shop_name + ".json")
        try:
            with open(shop_path, encoding="utf-8") as fh:
                shops[shop_name] = json.load(fh)
        except (OSError, ValueError) as e:
            print("error: shop file %s: %s" % (shop_path, e), file=sys.stderr)
            return 2
        lines, owners = [], []
        for item in shop_items:
            for ti, turn in enumerate(item["turns"]):
                lines.append({"conversation": item["id"], "text": turn.get("text", "")})
                owners.append((item["id"], ti))
        outs, problem, fatal = run_shop(args.bin, shop_path, lines, args.timeout)
        if problem:
            problems.append("%s: %s" % (shop_name, problem))
        if fatal:
            fatal_any = True
            print("error: %s: the binary failed to run: %s" % (shop_name, problem), file=sys.stderr)
            if "cannot run" in problem:
                return 2
        for (iid, ti), o in zip(owners, outs):
            outputs.setdefault(iid, []).append(o)

    res, failures = score(items, outputs, shops)
    res["set"] = args.set
    res["items"] = len(items)
    res["warnings"] = problems
    print_report(res, problems)
    if args.show_failures:
        print_failures(failures)
        print("\norders not captured: %s" % (" ".join(res["orders_missed"]) or "none"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    return 2 if fatal_any else 0


if __name__ == "__main__":
    sys.exit(main())
