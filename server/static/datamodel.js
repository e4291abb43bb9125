// The CMI data models of SCORM 1.2 and SCORM 2004 4th Edition, checked in the browser.
//
// `ScormDataModel.create(standard, options)` returns a model holding one SCO session's
// state as a flat map of element to value ("cmi.interactions.0.id" -> "q1"). Its
// `getValue` and `setValue` return the standard's value and error code, so the adapter can
// respond to the SCO at once. The server runs the same rules, and its result is authoritative.
// Rules: SCORM 1.2 RTE 3.4 (data model) and SCORM 2004 4th Edition RTE 4 (data model),
// error codes from SCORM 1.2 RTE 3.3 and SCORM 2004 RTE 3.1.7.
"use strict";

(function (global) {
  class DataModelError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  // ---------------------------------------------------------------- value types

  const REAL = /^-?(\d+(\.\d*)?|\.\d+)$/;
  const INTEGER = /^-?\d+$/;
  const DURATION =
    /^P(?!$)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
  const TIME_2004 = new RegExp(
    "^\\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\\d|3[01])" +
      "(T([01]\\d|2[0-3])(:[0-5]\\d(:[0-5]\\d(\\.\\d{1,2})?)?)?" +
      "(Z|[+-]([01]\\d|2[0-3])(:[0-5]\\d)?)?)?)?)?$"
  );
  const TIMESPAN_12 = /^\d{2,4}:\d{2}:\d{2}(\.\d{1,2})?$/;
  const TIME_12 = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,2})?$/;
  const IDENTIFIER_12 = /^[\x21-\x7e]{1,255}$/;
  const LANGUAGE = /^([a-zA-Z]{2,3}|[iIxX])(-[a-zA-Z0-9]{1,8})*$/;
  // ISO 639-1 codes, and the ISO 639-2 codes (B and T forms) that a language
  // tag's primary subtag may use (RFC 3066 as SCORM 2004 RTE 4.1.1.6 requires).
  const ISO_639_1 = new Set(
    ("aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs " +
      "cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he " +
      "hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr " +
      "ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng " +
      "nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk " +
      "sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz " +
      "ve vi vo wa wo xh yi yo za zh zu").split(" ")
  );
  const ISO_639_2 = new Set(
    ("aar abk ace ach ada ady afa afh afr ain aka akk alb sqi ale alg alt amh ang anp apa ara " +
      "arc arg arm hye arn arp art arw asm ast ath aus ava ave awa aym aze bad bai bak bal bam " +
      "ban baq eus bas bat bej bel bem ben ber bho bih bik bin bis bla bnt tib bod bos bra bre " +
      "btk bua bug bul bur mya byn cad cai car cat cau ceb cel cze ces cha chb che chg chi zho " +
      "chk chm chn cho chp chr chu chv chy cmc cnr cop cor cos cpe cpf cpp cre crh crp csb cus " +
      "wel cym dak dan dar day del den ger deu dgr din div doi dra dsb dua dum dut nld dyu dzo " +
      "efi egy eka gre ell elx eng enm epo est ewe ewo fan fao per fas fat fij fil fin fiu fon " +
      "fre fra frm fro frr frs fry ful fur gaa gay gba gem geo kat gez gil gla gle glg glv gmh " +
      "goh gon gor got grb grc grn gsw guj gwi hai hat hau haw heb her hil him hin hit hmn hmo " +
      "hrv hsb hun hup iba ibo ice isl ido iii ijo iku ile ilo ina inc ind ine inh ipk ira iro " +
      "ita jav jbo jpn jpr jrb kaa kab kac kal kam kan kar kas kau kaw kaz kbd kha khi khm kho " +
      "kik kin kir kmb kok kom kon kor kos kpe krc krl kro kru kua kum kur kut lad lah lam lao " +
      "lat lav lez lim lin lit lol loz ltz lua lub lug lui lun luo lus mac mkd mad mag mah mai " +
      "mak mal man mao mri map mar mas may msa mdf mdr men mga mic min mis mkh mlg mlt mnc mni " +
      "mno moh mon mos mul mun mus mwl mwr myn myv nah nai nap nau nav nbl nde ndo nds nep new " +
      "nia nic niu nno nob nog non nor nqo nso nub nwc nya nym nyn nyo nzi oci oji ori orm osa " +
      "oss ota oto paa pag pal pam pan pap pau peo phi phn pli pol pon por pra pro pus que raj " +
      "rap rar roa roh rom rum ron run rup rus sad sag sah sai sal sam san sas sat scn sco sel " +
      "sem sga sgn shn sid sin sio sit sla slo slk slv sma sme smi smj smn smo sms sna snd snk " +
      "sog som son sot spa srd srn srp srr ssa ssw suk sun sus sux swa swe syc syr tah tai tam " +
      "tat tel tem ter tet tgk tgl tha tig tir tiv tkl tlh tli tmh tog ton tpi tsi tsn tso tuk " +
      "tum tup tur tut tvl twi tyv udm uga uig ukr umb und urd uzb vai ven vie vol vot wak wal " +
      "war was wen wln wol xal xho yao yap yid yor ypk zap zbl zen zgh zha znd zul zun zxx " +
      "zza").split(" ")
  );
  const LANG_PREFIX = /^\{lang=([^}]*)\}/;

  function isReal(value) {
    return REAL.test(value);
  }

  function isLongIdentifier(value, max) {
    // Characters that a URI never contains unescaped (RFC 3986).
    if (value.length === 0 || value.length > max || /[\s[\]{}<>"\\^`|]/.test(value)) {
      return false;
    }
    // A URN needs a namespace id and a namespace-specific string (RFC 8141).
    if (/^urn:/i.test(value)) return /^urn:[a-z0-9][a-z0-9-]{0,31}:\S+$/i.test(value);
    return true;
  }

  function isLocalizedString(value, max) {
    const match = LANG_PREFIX.exec(value);
    if (match) {
      if (!isLanguage(match[1])) return false;
      value = value.slice(match[0].length);
    }
    return value.length <= max;
  }

  function isLanguage(value) {
    if (value === "") return true;
    if (value.length > 250 || !LANGUAGE.test(value)) return false;
    const primary = value.split("-")[0].toLowerCase();
    if (primary.length === 1) return value.includes("-");
    return primary.length === 2 ? ISO_639_1.has(primary) : ISO_639_2.has(primary);
  }

  function checkRange(value, min, max, code) {
    const number = Number(value);
    if ((min !== undefined && number < min) || (max !== undefined && number > max)) {
      throw new DataModelError(code, `The value ${value} is out of range.`);
    }
  }

  // ------------------------------------------------- SCORM 2004 interaction responses

  const SHORT_ID_MAX = 250;
  const RESPONSE_CHARACTERS_MAX = 4000;

  function splitList(value, separator) {
    return value === "" ? [] : value.split(separator);
  }

  function stripDelimiters(value, names) {
    // Leading {name=value} delimiters of a correct response (RTE 4.2.9.1).
    for (;;) {
      const match = /^\{(case_matters|order_matters|lang)=([^}]*)\}/.exec(value);
      if (!match || !names.includes(match[1])) return value;
      if (match[1] === "lang") return value;
      if (match[2] !== "true" && match[2] !== "false") return null;
      value = value.slice(match[0].length);
    }
  }

  function isShortIdentifier(value) {
    return isLongIdentifier(value, SHORT_ID_MAX);
  }

  function isNumericRange(value) {
    const parts = value.split("[:]");
    if (parts.length !== 2) return false;
    const [low, high] = parts;
    if ((low !== "" && !isReal(low)) || (high !== "" && !isReal(high))) return false;
    return low === "" || high === "" || Number(low) <= Number(high);
  }

  function isStepPair(value, allowRange) {
    const parts = value.split("[.]");
    if (parts.length !== 2) return false;
    const [step, answer] = parts;
    if (step === "" && answer === "") return false;
    if (step !== "" && !isShortIdentifier(step)) return false;
    if (answer === "") return true;
    if (allowRange && answer.includes("[:]")) return isNumericRange(answer);
    return answer.length <= SHORT_ID_MAX && !answer.includes("[,]");
  }

  const RESPONSE_CHECKS = {
    "true-false": (value) => value === "true" || value === "false",
    choice: (value) => {
      const ids = splitList(value, "[,]");
      return ids.every(isShortIdentifier) && new Set(ids).size === ids.length;
    },
    "fill-in": (value, correct) => {
      const rest = correct ? stripDelimiters(value, ["case_matters", "order_matters"]) : value;
      if (rest === null) return false;
      return splitList(rest, "[,]").every((part) => isLocalizedString(part, SHORT_ID_MAX));
    },
    "long-fill-in": (value, correct) => {
      const rest = correct ? stripDelimiters(value, ["case_matters"]) : value;
      return rest !== null && isLocalizedString(rest, RESPONSE_CHARACTERS_MAX);
    },
    likert: (value) => isShortIdentifier(value),
    matching: (value) => {
      const pairs = value.split("[,]");
      return pairs.every((pair) => {
        const ids = pair.split("[.]");
        return ids.length === 2 && ids.every(isShortIdentifier);
      });
    },
    performance: (value, correct) => {
      const rest = correct ? stripDelimiters(value, ["order_matters"]) : value;
      if (rest === null || rest === "") return false;
      return rest.split("[,]").every((pair) => isStepPair(pair, correct));
    },
    sequencing: (value) => value.split("[,]").every(isShortIdentifier),
    numeric: (value, correct) => (correct ? isNumericRange(value) : isReal(value)),
    other: (value) => value.length <= RESPONSE_CHARACTERS_MAX,
  };

  // Interaction types that allow one correct response only (RTE 4.2.9.1, table 4.2.9.1a).
  const SINGLE_CORRECT_RESPONSE = new Set(["true-false", "likert", "numeric", "other"]);

  // ------------------------------------------------------------ element tables

  // NOTE: these tables restate the server's rules instead of loading the description
  // served at /api/runtime/datamodel/{1.2|2004}/. The adapter logs every result where
  // the server disagrees, so a drift shows in the console.

  // Each leaf has an access mode: r (read-only), w (write-only) or rw.
  // `check(value)` returns false for a type error and throws a range error.
  // `initial` is the value a new array record or a fresh session presents.
  function vocab(...words) {
    return (value) => words.includes(value);
  }

  const ELEMENTS_12 = {
    "cmi.core.student_id": { access: "r" },
    "cmi.core.student_name": { access: "r" },
    "cmi.core.lesson_location": { access: "rw", check: (v) => v.length <= 255, initial: "" },
    "cmi.core.credit": { access: "r" },
    "cmi.core.lesson_status": {
      access: "rw",
      check: vocab("passed", "completed", "failed", "incomplete", "browsed"),
      initial: "not attempted",
    },
    "cmi.core.entry": { access: "r", initial: "" },
    "cmi.core.score.raw": { access: "rw", check: score12, initial: "" },
    "cmi.core.score.max": { access: "rw", check: score12, initial: "" },
    "cmi.core.score.min": { access: "rw", check: score12, initial: "" },
    "cmi.core.total_time": { access: "r", initial: "0000:00:00.00" },
    "cmi.core.lesson_mode": { access: "r" },
    "cmi.core.exit": { access: "w", check: vocab("time-out", "suspend", "logout", "") },
    "cmi.core.session_time": { access: "w", check: (v) => TIMESPAN_12.test(v) },
    "cmi.suspend_data": { access: "rw", check: null, initial: "" },
    "cmi.launch_data": { access: "r", initial: "" },
    "cmi.comments": { access: "rw", check: (v) => v.length <= 4096, initial: "" },
    "cmi.comments_from_lms": { access: "r", initial: "" },
    "cmi.objectives.n.id": { access: "rw", check: (v) => IDENTIFIER_12.test(v) },
    "cmi.objectives.n.score.raw": { access: "rw", check: score12, initial: "" },
    "cmi.objectives.n.score.max": { access: "rw", check: score12, initial: "" },
    "cmi.objectives.n.score.min": { access: "rw", check: score12, initial: "" },
    "cmi.objectives.n.status": {
      access: "rw",
      check: vocab("passed", "completed", "failed", "incomplete", "browsed", "not attempted"),
      initial: "not attempted",
    },
    "cmi.student_data.mastery_score": { access: "r", initial: "" },
    "cmi.student_data.max_time_allowed": { access: "r", initial: "" },
    "cmi.student_data.time_limit_action": { access: "r", initial: "" },
    "cmi.student_preference.audio": { access: "rw", check: integer12(-1, 100), initial: "0" },
    "cmi.student_preference.language": { access: "rw", check: (v) => v.length <= 255, initial: "" },
    "cmi.student_preference.speed": { access: "rw", check: integer12(-100, 100), initial: "0" },
    "cmi.student_preference.text": { access: "rw", check: integer12(-1, 1), initial: "0" },
    "cmi.interactions.n.id": { access: "w", check: (v) => IDENTIFIER_12.test(v) },
    "cmi.interactions.n.objectives.n.id": { access: "w", check: (v) => IDENTIFIER_12.test(v) },
    "cmi.interactions.n.time": { access: "w", check: (v) => TIME_12.test(v) },
    "cmi.interactions.n.type": {
      access: "w",
      check: vocab(
        "true-false", "choice", "fill-in", "matching", "performance", "sequencing", "likert",
        "numeric"
      ),
    },
    "cmi.interactions.n.correct_responses.n.pattern": { access: "w", check: (v) => v.length <= 255 },
    "cmi.interactions.n.weighting": { access: "w", check: (v) => isReal(v) },
    "cmi.interactions.n.student_response": { access: "w", check: (v) => v.length <= 255 },
    "cmi.interactions.n.result": {
      access: "w",
      check: (v) => ["correct", "wrong", "unanticipated", "neutral"].includes(v) || isReal(v),
    },
    "cmi.interactions.n.latency": { access: "w", check: (v) => TIMESPAN_12.test(v) },
  };

  const CHILDREN_12 = {
    cmi:
      "core,suspend_data,launch_data,comments,objectives,student_data,student_preference," +
      "interactions",
    "cmi.core":
      "student_id,student_name,lesson_location,credit,lesson_status,entry,score,total_time," +
      "lesson_mode,exit,session_time",
    "cmi.core.score": "raw,min,max",
    "cmi.objectives": "id,score,status",
    "cmi.objectives.n.score": "raw,min,max",
    "cmi.student_data": "mastery_score,max_time_allowed,time_limit_action",
    "cmi.student_preference": "audio,language,speed,text",
    "cmi.interactions":
      "id,objectives,time,type,correct_responses,weighting,student_response,result,latency",
  };

  const ARRAYS_12 = [
    "cmi.objectives",
    "cmi.interactions",
    "cmi.interactions.n.objectives",
    "cmi.interactions.n.correct_responses",
  ];

  function score12(value) {
    if (value === "") return true;
    if (!isReal(value)) return false;
    checkRange(value, 0, 100, 405);
    return true;
  }

  function integer12(min, max) {
    return (value) => {
      if (!INTEGER.test(value)) return false;
      checkRange(value, min, max, 405);
      return true;
    };
  }

  function real2004(min, max) {
    return (value) => {
      if (!isReal(value)) return false;
      checkRange(value, min, max, 407);
      return true;
    };
  }

  const COMPLETION = vocab("completed", "incomplete", "not attempted", "unknown");
  const SUCCESS = vocab("passed", "failed", "unknown");
  const NAV_VALID_PREFIX = "adl.nav.request_valid.";
  const NAV_REQUEST = /^(continue|previous|exit|exitAll|abandon|abandonAll|suspendAll|_none_|\{target=[^}\s]+\}(choice|jump))$/;

  const ELEMENTS_2004 = {
    "cmi.comments_from_learner.n.comment": { access: "rw", check: (v) => isLocalizedString(v, 4000) },
    "cmi.comments_from_learner.n.location": { access: "rw", check: (v) => v.length <= 250 },
    "cmi.comments_from_learner.n.timestamp": { access: "rw", check: (v) => TIME_2004.test(v) },
    "cmi.comments_from_lms.n.comment": { access: "r" },
    "cmi.comments_from_lms.n.location": { access: "r" },
    "cmi.comments_from_lms.n.timestamp": { access: "r" },
    "cmi.completion_status": { access: "rw", check: COMPLETION, initial: "unknown" },
    "cmi.completion_threshold": { access: "r" },
    "cmi.credit": { access: "r", initial: "credit" },
    "cmi.entry": { access: "r", initial: "ab-initio" },
    "cmi.exit": { access: "w", check: vocab("time-out", "suspend", "logout", "normal", "") },
    "cmi.interactions.n.id": { access: "rw", check: (v) => isLongIdentifier(v, 4000) },
    "cmi.interactions.n.type": {
      access: "rw",
      check: vocab(
        "true-false", "choice", "fill-in", "long-fill-in", "likert", "matching", "performance",
        "sequencing", "numeric", "other"
      ),
    },
    "cmi.interactions.n.objectives.n.id": { access: "rw", check: (v) => isLongIdentifier(v, 4000) },
    "cmi.interactions.n.timestamp": { access: "rw", check: (v) => TIME_2004.test(v) },
    "cmi.interactions.n.correct_responses.n.pattern": { access: "rw", check: null },
    "cmi.interactions.n.weighting": { access: "rw", check: (v) => isReal(v) },
    "cmi.interactions.n.learner_response": { access: "rw", check: null },
    "cmi.interactions.n.result": {
      access: "rw",
      check: (v) => ["correct", "incorrect", "unanticipated", "neutral"].includes(v) || isReal(v),
    },
    "cmi.interactions.n.latency": { access: "rw", check: (v) => DURATION.test(v) },
    "cmi.interactions.n.description": { access: "rw", check: (v) => isLocalizedString(v, 250) },
    "cmi.launch_data": { access: "r" },
    "cmi.learner_id": { access: "r" },
    "cmi.learner_name": { access: "r" },
    "cmi.learner_preference.audio_level": { access: "rw", check: real2004(0), initial: "1" },
    "cmi.learner_preference.language": { access: "rw", check: isLanguage, initial: "" },
    "cmi.learner_preference.delivery_speed": { access: "rw", check: real2004(0), initial: "1" },
    "cmi.learner_preference.audio_captioning": {
      access: "rw",
      check: vocab("-1", "0", "1"),
      initial: "0",
    },
    "cmi.location": { access: "rw", check: (v) => v.length <= 1000 },
    "cmi.max_time_allowed": { access: "r" },
    "cmi.mode": { access: "r", initial: "normal" },
    "cmi.objectives.n.id": { access: "rw", check: (v) => isLongIdentifier(v, 4000) },
    "cmi.objectives.n.score.scaled": { access: "rw", check: real2004(-1, 1) },
    "cmi.objectives.n.score.raw": { access: "rw", check: real2004() },
    "cmi.objectives.n.score.min": { access: "rw", check: real2004() },
    "cmi.objectives.n.score.max": { access: "rw", check: real2004() },
    "cmi.objectives.n.success_status": { access: "rw", check: SUCCESS, initial: "unknown" },
    "cmi.objectives.n.completion_status": { access: "rw", check: COMPLETION, initial: "unknown" },
    "cmi.objectives.n.progress_measure": { access: "rw", check: real2004(0, 1) },
    "cmi.objectives.n.description": { access: "rw", check: (v) => isLocalizedString(v, 250) },
    "cmi.progress_measure": { access: "rw", check: real2004(0, 1) },
    "cmi.scaled_passing_score": { access: "r" },
    "cmi.score.scaled": { access: "rw", check: real2004(-1, 1) },
    "cmi.score.raw": { access: "rw", check: real2004() },
    "cmi.score.min": { access: "rw", check: real2004() },
    "cmi.score.max": { access: "rw", check: real2004() },
    "cmi.session_time": { access: "w", check: (v) => DURATION.test(v) },
    "cmi.success_status": { access: "rw", check: SUCCESS, initial: "unknown" },
    "cmi.suspend_data": { access: "rw", check: (v) => v.length <= 64000 },
    "cmi.time_limit_action": { access: "r", initial: "continue,no message" },
    "cmi.total_time": { access: "r", initial: "PT0H0M0S" },
    "adl.nav.request": { access: "rw", check: (v) => NAV_REQUEST.test(v), initial: "_none_" },
  };

  const CHILDREN_2004 = {
    "cmi.comments_from_learner": "comment,location,timestamp",
    "cmi.comments_from_lms": "comment,location,timestamp",
    "cmi.interactions":
      "id,type,objectives,timestamp,correct_responses,weighting,learner_response,result," +
      "latency,description",
    "cmi.interactions.n.objectives": "id",
    "cmi.interactions.n.correct_responses": "pattern",
    "cmi.learner_preference": "audio_level,language,delivery_speed,audio_captioning",
    "cmi.objectives": "id,score,success_status,completion_status,progress_measure,description",
    "cmi.objectives.n.score": "scaled,raw,min,max",
    "cmi.score": "scaled,raw,min,max",
  };

  const ARRAYS_2004 = [
    "cmi.comments_from_learner",
    "cmi.comments_from_lms",
    "cmi.interactions",
    "cmi.objectives",
    "cmi.interactions.n.objectives",
    "cmi.interactions.n.correct_responses",
  ];

  // ---------------------------------------------------------------- the model

  // Split "cmi.interactions.3.objectives.0.id" into its pattern
  // ("cmi.interactions.n.objectives.n.id") and indices ([3, 0]).
  function parseElement(element) {
    const indices = [];
    const parts = element.split(".").map((part) => {
      if (/^\d+$/.test(part)) {
        indices.push(Number(part));
        return "n";
      }
      return part;
    });
    return { pattern: parts.join("."), indices };
  }

  // Replace the "n" parts of a pattern with the given indices, in order.
  function fillPattern(pattern, indices) {
    let next = 0;
    return pattern
      .split(".")
      .map((part) => (part === "n" ? String(indices[next++]) : part))
      .join(".");
  }

  class DataModel {
    constructor(standard, options) {
      this.standard = standard;
      this.is2004 = standard === "2004";
      this.elements = this.is2004 ? ELEMENTS_2004 : ELEMENTS_12;
      this.children = this.is2004 ? CHILDREN_2004 : CHILDREN_12;
      this.arrays = this.is2004 ? ARRAYS_2004 : ARRAYS_12;
      // SCORM 2004 fixes 64000 characters; a SCORM 1.2 server may allow more than 4096.
      this.suspendDataMax = this.is2004 ? 64000 : (options && options.suspendDataMax) || 4096;
      this.values = new Map();
      this.wasSet = new Set();
      // Returns "true", "false" or "unknown" for adl.nav.request_valid.* (RTE 4.4.2).
      this.navigationValidity = (options && options.navigationValidity) || (() => "unknown");
    }

    // Load the values the server presents at Initialize. They bypass the SCO's
    // access rules, because an LMS may set values a SCO may not write.
    load(cmi) {
      for (const [element, value] of Object.entries(cmi || {})) {
        this.values.set(element, String(value));
      }
    }

    // The element's error codes, which differ between the two standards.
    get codes() {
      return this.is2004
        ? {
            undefined: 401, keywordSet: 404, noChildren: 301, noCount: 301, readOnly: 404,
            writeOnly: 405, type: 406, getFailure: 301, setFailure: 351, notSet: 403,
            emptyGet: 301, emptySet: 351,
          }
        : {
            undefined: 401, keywordSet: 402, noChildren: 202, noCount: 203, readOnly: 403,
            writeOnly: 404, type: 405, getFailure: 201, setFailure: 201, notSet: null,
            emptyGet: 201, emptySet: 201,
          };
    }

    count(arrayPattern, indices) {
      const prefix = fillPattern(arrayPattern, indices) + ".";
      let count = 0;
      while (this.recordExists(prefix + count + ".")) count += 1;
      return count;
    }

    recordExists(prefix) {
      for (const key of this.values.keys()) {
        if (key.startsWith(prefix)) return true;
      }
      return false;
    }

    // Raise the right error for a name that is not a data model element.
    undefinedElement(element, pattern) {
      if (!this.is2004) {
        // An unknown child of a known group is an invalid argument in SCORM 1.2.
        const parent = pattern.split(".").slice(0, -1).join(".");
        if (parent !== "cmi" && this.children[parent]) {
          throw new DataModelError(201, `${element} is not an element of ${parent}.`);
        }
      }
      throw new DataModelError(401, `${element} is not a data model element.`);
    }

    // Check the indices of an element: each array record must exist.
    checkRecordsExist(pattern, indices, element) {
      const parts = pattern.split(".");
      let index = 0;
      for (let i = 0; i < parts.length; i++) {
        if (parts[i] !== "n") continue;
        const arrayPattern = parts.slice(0, i).join(".");
        const count = this.count(arrayPattern, indices.slice(0, index));
        if (indices[index] >= count) {
          throw new DataModelError(
            this.codes.getFailure,
            `${element}: index ${indices[index]} is beyond ${arrayPattern}._count (${count}).`
          );
        }
        index += 1;
      }
    }

    keyword(element, pattern, indices, setting) {
      const parts = pattern.split(".");
      const name = parts.pop();
      const parent = parts.join(".");
      if (this.is2004 && parent === "cmi" && name !== "_version") {
        throw new DataModelError(401, `${element} is not a data model element.`);
      }
      if (name === "_version") {
        if (parent !== "cmi") throw new DataModelError(this.is2004 ? 301 : 401, `${element} is not defined.`);
        if (setting) throw new DataModelError(this.codes.keywordSet, `${element} is read-only.`);
        return this.is2004 ? "1.0" : "3.4";
      }
      const known =
        this.children[parent] || this.arrays.includes(parent) || this.isLeaf(parent) ||
        this.isGroup(parent);
      if (!known) this.undefinedElement(element, pattern);
      if (setting) throw new DataModelError(this.codes.keywordSet, `${element} is a keyword and read-only.`);
      if (name === "_children") {
        if (!this.children[parent]) {
          throw new DataModelError(this.codes.noChildren, `${parent} has no children.`);
        }
        if (parent.includes(".n")) this.checkRecordsExist(parent + ".x", indices, element);
        return this.children[parent];
      }
      if (!this.arrays.includes(parent)) {
        throw new DataModelError(this.codes.noCount, `${parent} is not an array.`);
      }
      if (parent.includes(".n")) this.checkRecordsExist(parent + ".x", indices, element);
      return String(this.count(parent, indices));
    }

    isLeaf(pattern) {
      return Object.prototype.hasOwnProperty.call(this.elements, pattern);
    }

    isGroup(pattern) {
      const prefix = pattern + ".";
      return Object.keys(this.elements).some((key) => key.startsWith(prefix));
    }

    getValue(element) {
      if (element === "") {
        throw new DataModelError(this.codes.emptyGet, "The element name is empty.");
      }
      if (this.is2004 && element.startsWith(NAV_VALID_PREFIX)) {
        return this.requestValid(element);
      }
      const { pattern, indices } = parseElement(element);
      const last = pattern.split(".").pop();
      if (last.startsWith("_") && ["_children", "_count", "_version"].includes(last)) {
        return this.keyword(element, pattern, indices, false);
      }
      const definition = this.elements[pattern];
      if (!definition) this.undefinedElement(element, pattern);
      if (definition.access === "w") {
        throw new DataModelError(this.codes.writeOnly, `${element} is write-only.`);
      }
      if (indices.length) this.checkRecordsExist(pattern, indices, element);
      if (this.is2004) {
        const evaluated = this.evaluateStatus(pattern);
        if (evaluated !== null) return evaluated;
      }
      if (this.values.has(element)) return this.values.get(element);
      if (definition.initial !== undefined && !pattern.includes(".n.")) return definition.initial;
      if (definition.initial !== undefined && indices.length) return definition.initial;
      if (this.codes.notSet !== null) {
        throw new DataModelError(this.codes.notSet, `${element} has not been set.`);
      }
      return "";
    }

    requestValid(element) {
      const request = element.slice(NAV_VALID_PREFIX.length);
      if (request === "continue" || request === "previous") {
        return this.navigationValidity(request, null);
      }
      const match = /^(choice|jump)\.\{target=([^}\s]+)\}$/.exec(request);
      if (!match) throw new DataModelError(401, `${element} is not a data model element.`);
      return this.navigationValidity(match[1], match[2]);
    }

    // SCORM 2004 RTE 4.2.4.1 and 4.2.22.1: with a threshold or passing score
    // from the manifest, the LMS evaluates the status from the measure.
    evaluateStatus(pattern) {
      if (pattern === "cmi.completion_status" && this.values.has("cmi.completion_threshold")) {
        if (!this.values.has("cmi.progress_measure")) return "unknown";
        const threshold = Number(this.values.get("cmi.completion_threshold"));
        const measure = Number(this.values.get("cmi.progress_measure"));
        return measure >= threshold ? "completed" : "incomplete";
      }
      if (pattern === "cmi.success_status" && this.values.has("cmi.scaled_passing_score")) {
        if (!this.values.has("cmi.score.scaled")) return "unknown";
        const passing = Number(this.values.get("cmi.scaled_passing_score"));
        const scaled = Number(this.values.get("cmi.score.scaled"));
        return scaled >= passing ? "passed" : "failed";
      }
      return null;
    }

    setValue(element, value) {
      if (element === "") {
        throw new DataModelError(this.codes.emptySet, "The element name is empty.");
      }
      value = String(value);
      if (this.is2004 && element.startsWith(NAV_VALID_PREFIX)) {
        this.requestValid(element);
        throw new DataModelError(404, `${element} is read-only.`);
      }
      const { pattern, indices } = parseElement(element);
      const last = pattern.split(".").pop();
      if (["_children", "_count", "_version"].includes(last)) {
        this.keyword(element, pattern, indices, true);
      }
      const definition = this.elements[pattern];
      if (!definition) this.undefinedElement(element, pattern);
      if (definition.access === "r") {
        throw new DataModelError(this.codes.readOnly, `${element} is read-only.`);
      }
      if (indices.length) this.checkNewRecord(element, pattern, indices);
      this.checkValue(element, pattern, indices, definition, value);
      this.checkUnique(element, pattern, indices, value);
      this.values.set(element, value);
      this.wasSet.add(element);
      this.addRecordDefaults(pattern, indices);
    }

    // An element of an array record may create the record only at index
    // _count, and in SCORM 2004 only through the record's identifier.
    checkNewRecord(element, pattern, indices) {
      const parts = pattern.split(".");
      let index = 0;
      for (let i = 0; i < parts.length; i++) {
        if (parts[i] !== "n") continue;
        const arrayPattern = parts.slice(0, i).join(".");
        const count = this.count(arrayPattern, indices.slice(0, index));
        const position = indices[index];
        if (position > count) {
          throw new DataModelError(
            this.codes.setFailure,
            `${element}: index ${position} skips ahead of ${arrayPattern}._count (${count}); ` +
              "add records in order."
          );
        }
        const rest = parts.slice(i + 1).join(".");
        const createsWithoutId =
          position === count && this.is2004 && rest !== "id" &&
          !arrayPattern.endsWith("correct_responses") &&
          !arrayPattern.startsWith("cmi.comments_from_learner");
        if (createsWithoutId) {
          throw new DataModelError(408, `${element}: set ${arrayPattern}.${position}.id first.`);
        }
        index += 1;
      }
    }

    checkValue(element, pattern, indices, definition, value) {
      let valid;
      if (pattern === "cmi.suspend_data") {
        valid = value.length <= this.suspendDataMax;
      } else if (definition.check === null && this.is2004) {
        valid = this.checkResponse(element, pattern, indices, value);
      } else {
        valid = definition.check ? definition.check(value) : true;
      }
      if (!valid) {
        throw new DataModelError(this.codes.type, `${value.slice(0, 40)} is not a valid value for ${element}.`);
      }
    }

    // SCORM 2004 responses depend on the interaction's type (RTE 4.2.9.1).
    checkResponse(element, pattern, indices, value) {
      const base = `cmi.interactions.${indices[0]}`;
      const type = this.values.get(base + ".type");
      if (type === undefined) {
        throw new DataModelError(408, `${element}: set ${base}.type first.`);
      }
      const correct = pattern.endsWith(".pattern");
      if (correct && SINGLE_CORRECT_RESPONSE.has(type) && indices[1] > 0) {
        throw new DataModelError(351, `${element}: a ${type} interaction has one correct response.`);
      }
      return RESPONSE_CHECKS[type](value, correct);
    }

    // SCORM 2004 identifiers of objectives are unique and written once; correct
    // response patterns are unique within an interaction.
    checkUnique(element, pattern, indices, value) {
      if (!this.is2004) return;
      const uniqueIn = {
        "cmi.objectives.n.id": ["cmi.objectives", []],
        "cmi.interactions.n.objectives.n.id": ["cmi.interactions.n.objectives", indices.slice(0, 1)],
        "cmi.interactions.n.correct_responses.n.pattern": [
          "cmi.interactions.n.correct_responses",
          indices.slice(0, 1),
        ],
      }[pattern];
      if (!uniqueIn) return;
      const [arrayPattern, outer] = uniqueIn;
      const field = pattern.split(".").pop();
      const own = indices[indices.length - 1];
      const count = this.count(arrayPattern, outer);
      const prefix = fillPattern(arrayPattern, outer);
      for (let i = 0; i < count; i++) {
        if (i !== own && this.values.get(`${prefix}.${i}.${field}`) === value) {
          throw new DataModelError(351, `${element}: ${value} is already used by ${prefix}.${i}.`);
        }
      }
      const current = this.values.get(element);
      if (pattern === "cmi.objectives.n.id" && current !== undefined && current !== value) {
        throw new DataModelError(351, `${element} is already set to ${current} and cannot change.`);
      }
    }

    addRecordDefaults(pattern, indices) {
      if (pattern !== "cmi.objectives.n.id") return;
      const base = `cmi.objectives.${indices[0]}`;
      for (const field of ["success_status", "completion_status"]) {
        if (!this.values.has(`${base}.${field}`) && this.is2004) {
          this.values.set(`${base}.${field}`, "unknown");
        }
      }
      if (!this.is2004 && !this.values.has(`${base}.status`)) {
        this.values.set(`${base}.status`, "not attempted");
      }
    }

    // The values the SCO set in this session, for the batch log and the summary.
    snapshot() {
      return Object.fromEntries(this.values);
    }
  }

  global.ScormDataModel = {
    DataModelError,
    create: (standard, options) => new DataModel(standard, options),
  };
})(typeof window !== "undefined" ? window : globalThis);
