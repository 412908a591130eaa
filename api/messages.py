"""Vietnamese for the details of problem answers (issue 12: every detail follows the
caller's language, as the titles do).

dothi raises its messages in English, the source language, wherever the error is
found (gis/, auth/, api/). Only answers are localised, so the Vietnamese lives here:
``MESSAGES`` maps each English message *template* to its Vietnamese, and
``api/problems.py`` calls :func:`localise` once for each problem it answers. A detail
no template matches stays English; tests/api/test_localised_details.py walks the
source and fails for any raised message that has no template here.

Template syntax (both languages use the same holes, in any order):

``{name}``
    a variable part kept as it is: a name, a value, a number, a list, a library's
    own text (a parser's or GEOS's message).
``{~name}``
    an English phrase the code puts into the message (a type name, a reason, a
    CQL2 message inside ``filter: ...``): translated by these same tables when one
    of their templates matches it, else kept as it is.

Matching never backtracks: a template is its literal pieces, found with
``str.startswith``/``find``/``rfind`` (linear in the detail, whatever the detail
holds: details quote request values, so a regular expression with several wildcards
could be made to run for minutes). The pieces between holes are searched leftmost
first, then rightmost first; the first template (most literal text first) whose
``{~...}`` holes all translate wins, else the first that matched at all.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

# fmt: off
MESSAGES: dict[str, str] = {
    # --- request parameters (api/deps.py, api/routers/, gis/query.py) ---------------
    "unknown parameter(s): {names}; allowed: {allowed}":
        "tham số không được hỗ trợ: {names}; các tham số được phép: {allowed}",
    "lang: supported languages are {langs}":
        "lang: các ngôn ngữ được hỗ trợ là {langs}",
    "{name}: a query parameter may not contain the NUL character":
        "{name}: tham số truy vấn không được chứa ký tự NUL",
    "{name}: given more than once": "{name}: được truyền nhiều lần",
    "bbox-crs: given without bbox": "bbox-crs: được truyền mà không có bbox",
    "skipGeometry: expected true or false": "skipGeometry: cần true hoặc false",
    "filter-lang and filter-crs need a filter":
        "filter-lang và filter-crs chỉ dùng kèm filter",
    "limit: expected an integer, got {raw}": "limit: cần một số nguyên, nhận được {raw}",
    "limit: must be at least 1": "limit: phải từ 1 trở lên",
    "limit: at most {maximum} features a page":
        "limit: tối đa {maximum} đối tượng mỗi trang",
    "bbox: expected 4 or 6 numbers, got {count}":
        "bbox: cần 4 hoặc 6 số, nhận được {count}",
    "bbox: every value must be a number": "bbox: mọi giá trị phải là số",
    "bbox: values must be finite": "bbox: các giá trị phải là số hữu hạn",
    "bbox: the lower corner must come first": "bbox: góc dưới phải đứng trước",
    "bbox: latitude out of range [-90, 90]": "bbox: vĩ độ nằm ngoài khoảng [-90, 90]",
    "bbox: longitude out of range [-180, 180]":
        "bbox: kinh độ nằm ngoài khoảng [-180, 180]",
    "datetime: {text} is not an RFC 3339 date-time":
        "datetime: {text} không phải là thời điểm theo RFC 3339",
    "datetime: empty instant": "datetime: thời điểm rỗng",
    # --- history (api/routers/versions.py) ---------------------------------------------
    "asOf: {raw} is not an RFC 3339 date-time":
        "asOf: {raw} không phải là thời điểm theo RFC 3339",
    "asOf: {layer} keeps no history": "asOf: lớp dữ liệu {layer} không lưu lịch sử",
    "asOf: {when} is in the future; without asOf the collection is as it is now":
        "asOf: {when} là thời điểm trong tương lai; không có asOf là dữ liệu hiện tại",
    "asOf: the history of {layer} starts at {since}":
        "asOf: lịch sử của lớp dữ liệu {layer} bắt đầu từ {since}",
    "{layer} keeps no history": "lớp dữ liệu {layer} không lưu lịch sử",
    "no version {n} of feature {id} in {layer}":
        "không có phiên bản {n} của đối tượng {id} trong lớp dữ liệu {layer}",
    "datetime: {layer} has no time":
        "datetime: lớp dữ liệu {layer} không có thuộc tính thời gian",
    "datetime: an interval needs at least one end":
        "datetime: khoảng thời gian cần ít nhất một đầu mút",
    "datetime: the interval ends before it starts":
        "datetime: khoảng thời gian kết thúc trước khi bắt đầu",
    "properties: unknown {names}; known: {known}":
        "properties: không có thuộc tính {names}; các thuộc tính hiện có: {known}",
    "sortby: {name} is not sortable; sortables: {names}":
        "sortby: không sắp xếp được theo {name}; các thuộc tính sắp xếp được: {names}",
    "sortby: at most 4 keys": "sortby: tối đa 4 khóa",
    "cursor: not a paging token of this query (follow the next/prev links)":
        "cursor: không phải mã phân trang của truy vấn này (hãy theo các liên kết "
        "next/prev)",
    "center is lon,lat and zoom a number": "center là lon,lat và zoom là một số",
    "center: lon,lat in degrees": "center: lon,lat tính bằng độ",
    "zoom: from 0 to 22": "zoom: từ 0 đến 22",
    # --- what exists (collections, features, styles, tiles) -------------------------
    "no collection {id}": "không có lớp dữ liệu {id}",
    "no feature {id} in {layer}": "không có đối tượng {id} trong lớp dữ liệu {layer}",
    "no style {id}; styles: {styles}":
        "không có kiểu hiển thị {id}; các kiểu hiển thị: {styles}",
    "no style {id} for {layer}; styles: default":
        "lớp dữ liệu {layer} không có kiểu hiển thị {id}; các kiểu hiển thị: default",
    "{layer} has no geometry and no style":
        "lớp dữ liệu {layer} không có hình học nên không có kiểu hiển thị",
    "{layer} has no geometry and no tiles":
        "lớp dữ liệu {layer} không có hình học nên không có ô bản đồ",
    "no tile matrix set {id}; sets: {sets}":
        "không có bộ lưới ô bản đồ {id}; các bộ hiện có: {sets}",
    "tileMatrix, tileRow and tileCol must be integers":
        "tileMatrix, tileRow và tileCol phải là số nguyên",
    "tile matrix {z} is not in {tms} (0-{top})":
        "mức lưới {z} không có trong {tms} (0-{top})",
    "tile {z}/{row}/{col} is outside {tms}: rows 0-{rows}, columns 0-{cols}":
        "ô bản đồ {z}/{row}/{col} nằm ngoài {tms}: hàng 0-{rows}, cột 0-{cols}",
    "no tile {z}/{row}/{col}: {layer} has tiles at zooms 0-{top}":
        "không có ô bản đồ {z}/{row}/{col}: lớp dữ liệu {layer} có ô bản đồ ở các mức "
        "thu phóng 0-{top}",
    "no layer has tiles at zoom {z}":
        "không lớp dữ liệu nào có ô bản đồ ở mức thu phóng {z}",
    # --- formats and coordinate reference systems ------------------------------------
    "f: format {f} not available here; offered: {offered}":
        "f: định dạng {f} không có ở đây; các định dạng được cung cấp: {offered}",
    "none of the accepted media types is offered: {offered}":
        "không kiểu dữ liệu nào được chấp nhận có ở đây; các kiểu được cung cấp: "
        "{offered}",
    "unsupported CRS {uri}; supported: {supported}":
        "không hỗ trợ hệ tọa độ {uri}; các hệ tọa độ được hỗ trợ: {supported}",
    "{parameter}: the box lies outside the area of use of EPSG:{crs}: x {x0}..{x1}, "
    "y {y0}..{y1} (check the CRS and the axis order)":
        "{parameter}: khung nằm ngoài phạm vi sử dụng của EPSG:{crs}: x {x0}..{x1}, "
        "y {y0}..{y1} (hãy kiểm tra hệ tọa độ và thứ tự trục)",
    # --- CQL2 filters: "filter: <message>[ (<conformance class>)]" -------------------
    "filter: {~message}": "filter: {message}",
    "filter: {~message} ({conformance})": "filter: {message} ({conformance})",
    "filter-lang: {lang} is not supported; use cql2-text or cql2-json":
        "filter-lang: không hỗ trợ {lang}; hãy dùng cql2-text hoặc cql2-json",
    "filter-crs: EPSG:{srid} is not known":
        "filter-crs: EPSG:{srid} không phải là hệ tọa độ đã biết",
    "filter-crs: EPSG:{srid} is not offered by this collection":
        "filter-crs: lớp dữ liệu này không cung cấp EPSG:{srid}",
    "not valid UTF-8 text": "không phải văn bản UTF-8 hợp lệ",
    "empty filter": "bộ lọc rỗng",
    "{lang} filters are at most {maximum} KB (this one is {size} KB)":
        "bộ lọc {lang} tối đa {maximum} KB (bộ lọc này {size} KB)",
    "nested too deeply (at most {maximum} levels)": "lồng quá sâu (tối đa {maximum} cấp)",
    "parentheses nested too deeply for a filter of {chars} characters ({levels} "
    "levels; at most {maximum})":
        "dấu ngoặc lồng quá sâu đối với một bộ lọc dài {chars} ký tự ({levels} cấp; "
        "tối đa {maximum})",
    "at most {maximum} nodes": "tối đa {maximum} nút",
    "not valid {lang}: {reason}": "không phải {lang} hợp lệ: {reason}",
    "a string may not contain the NUL character": "chuỗi không được chứa ký tự NUL",
    "a string is not valid Unicode": "chuỗi không phải Unicode hợp lệ",
    "the number {value} is out of range": "số {value} nằm ngoài phạm vi cho phép",
    "{text} is not a date (YYYY-MM-DD)": "{text} không phải là ngày (YYYY-MM-DD)",
    "{text} is not a valid date": "{text} không phải là ngày hợp lệ",
    "{text} is not an RFC 3339 timestamp (e.g. 2025-07-01T08:00:00Z)":
        "{text} không phải là dấu thời gian theo RFC 3339 (ví dụ 2025-07-01T08:00:00Z)",
    "{text} is not a valid timestamp": "{text} không phải là dấu thời gian hợp lệ",
    "{~what} is not a predicate": "{what} không phải là một biểu thức điều kiện",
    "malformed operation": "phép toán sai cấu trúc",
    "malformed expression": "biểu thức sai cấu trúc",
    "unknown function {name}; supported: {functions}, and the operators {operators}":
        "không có hàm {name}; các hàm được hỗ trợ: {functions}, và các toán tử "
        "{operators}",
    "{op} takes {~count} arguments, not {given}": "{op} nhận {count} đối số, không phải {given}",
    "{op} needs at least 2 arguments": "{op} cần ít nhất 2 đối số",
    "NULL is not a value: use IS NULL": "NULL không phải là một giá trị: hãy dùng IS NULL",
    "a geometry is not a scalar value: use a spatial function":
        "hình học không phải là giá trị vô hướng: hãy dùng một hàm không gian",
    "an interval is only an argument of a temporal function":
        "khoảng thời gian chỉ được dùng làm đối số của một hàm thời gian",
    "unknown property {name}; queryables: {names}":
        "không có thuộc tính {name}; các thuộc tính truy vấn được: {names}",
    "property {name} cannot be filtered on": "không lọc được theo thuộc tính {name}",
    "{op} takes text, not {~kind}": "{op} nhận văn bản, không phải {kind}",
    "booleans only compare with = and <>": "giá trị logic chỉ so sánh được bằng = và <>",
    "{~kind} does not compare with {op}: use {function}":
        "{kind} không so sánh được bằng {op}: hãy dùng {function}",
    "arrays compare with A_EQUALS": "mảng được so sánh bằng A_EQUALS",
    "cannot compare {~left} with {~right}": "không so sánh được {left} với {right}",
    "cannot compare {~left} with {~right}; write DATE('2025-07-01') or "
    "TIMESTAMP('2025-07-01T08:00:00Z')":
        "không so sánh được {left} với {right}; hãy viết DATE('2025-07-01') hoặc "
        "TIMESTAMP('2025-07-01T08:00:00Z')",
    "cannot compare {~left} with {~right}; quote text values ('22945') and leave "
    "numbers bare":
        "không so sánh được {left} với {right}; hãy đặt giá trị văn bản trong dấu nháy "
        "('22945') và viết số không có dấu nháy",
    "LIKE matches text, not {~what}": "LIKE chỉ so khớp văn bản, không phải {what}",
    "the LIKE pattern must be a text literal": "mẫu của LIKE phải là một chuỗi viết sẵn",
    "the LIKE pattern ends with the escape character \\":
        "mẫu của LIKE kết thúc bằng ký tự thoát \\",
    "BETWEEN takes numbers, texts or instants, not {~what}":
        "BETWEEN nhận số, văn bản hoặc thời điểm, không phải {what}",
    "IN takes a list": "IN nhận một danh sách",
    "IN needs at least one item": "IN cần ít nhất một phần tử",
    "an IN list has at most {maximum} items ({given} given)":
        "danh sách IN có tối đa {maximum} phần tử (đã cho {given})",
    "{op} takes numbers, not {~what}": "{op} nhận số, không phải {what}",
    "the exponent of ^ must be an integer literal from 0 to {maximum}":
        "số mũ của ^ phải là một số nguyên viết sẵn từ 0 đến {maximum}",
    "the result could have more than {maximum} digits":
        "kết quả có thể có hơn {maximum} chữ số",
    "{op} compares geometries, not {~what}": "{op} so sánh các hình học, không phải {what}",
    "the S_DWITHIN distance must be a number": "khoảng cách của S_DWITHIN phải là số",
    "the S_DWITHIN distance cannot be negative":
        "khoảng cách của S_DWITHIN không được là số âm",
    "S_DWITHIN distances are at most {maximum} m":
        "khoảng cách của S_DWITHIN tối đa {maximum} m",
    "S_DWITHIN distances are in metres (meters)":
        "khoảng cách của S_DWITHIN tính bằng mét (metres, meters)",
    "unknown geometry type {kind}": "không có kiểu hình học {kind}",
    "invalid geometry literal: {reason}": "hình học không hợp lệ: {reason}",
    "empty geometry literal": "hình học rỗng",
    "literal geometries have at most {maximum} vertices in all":
        "các hình học viết trong bộ lọc có tổng cộng tối đa {maximum} đỉnh",
    "nested GeometryCollection literals are not supported":
        "không hỗ trợ GeometryCollection lồng nhau",
    "the polygons of a GeometryCollection literal overlap":
        "các đa giác của GeometryCollection chồng lên nhau",
    "coordinates must be finite numbers": "tọa độ phải là số hữu hạn",
    "coordinates outside the area of EPSG:{srid}":
        "tọa độ nằm ngoài phạm vi của EPSG:{srid}",
    "coordinates outside the area of use of EPSG:{srid} (x {x0}..{x1}, y {y0}..{y1})":
        "tọa độ nằm ngoài phạm vi sử dụng của EPSG:{srid} (x {x0}..{x1}, y {y0}..{y1})",
    "coordinates out of range (axis order {~order}: longitude -180..180, "
    "latitude -90..90)":
        "tọa độ nằm ngoài phạm vi (thứ tự trục {order}: kinh độ -180..180, "
        "vĩ độ -90..90)",
    "BBOX takes 4 or 6 numbers": "BBOX nhận 4 hoặc 6 số",
    "BBOX takes numbers": "BBOX chỉ nhận số",
    "BBOX: the lower corner comes first": "BBOX: góc dưới phải đứng trước",
    "{op} relates two intervals (INTERVAL(start, end)); for instants use T_AFTER, "
    "T_BEFORE, T_EQUALS, T_INTERSECTS or T_DISJOINT":
        "{op} xét quan hệ giữa hai khoảng thời gian (INTERVAL(start, end)); với "
        "thời điểm, hãy dùng T_AFTER, T_BEFORE, T_EQUALS, T_INTERSECTS hoặc T_DISJOINT",
    "{op} takes instants and intervals, not {~what}":
        "{op} nhận thời điểm và khoảng thời gian, không phải {what}",
    "{op} takes instants and intervals, not {~what}; write DATE('2025-07-01') or "
    "TIMESTAMP('2025-07-01T08:00:00Z')":
        "{op} nhận thời điểm và khoảng thời gian, không phải {what}; hãy viết "
        "DATE('2025-07-01') hoặc TIMESTAMP('2025-07-01T08:00:00Z')",
    "{op} takes instants and intervals, not {~what}; quote text values ('22945') "
    "and leave numbers bare":
        "{op} nhận thời điểm và khoảng thời gian, không phải {what}; hãy đặt giá trị "
        "văn bản trong dấu nháy ('22945') và viết số không có dấu nháy",
    "INTERVAL takes a start and an end": "INTERVAL nhận một điểm đầu và một điểm cuối",
    "INTERVAL: the end comes before the start": "INTERVAL: điểm cuối đứng trước điểm đầu",
    "INTERVAL ends are instants or '..', not {~what}":
        "hai đầu của INTERVAL là thời điểm hoặc '..', không phải {what}",
    "{op} compares arrays, not {~what}": "{op} so sánh các mảng, không phải {what}",
    "{op} compares arrays, and there are no array-valued queryables in this "
    "collection":
        "{op} so sánh các mảng, nhưng lớp dữ liệu này không có thuộc tính truy vấn "
        "nào mang giá trị mảng",
    "an array has at most {maximum} items ({given} given)":
        "mảng có tối đa {maximum} phần tử (đã cho {given})",
    "the arrays hold different types ({~first} and {~second})":
        "các mảng chứa các kiểu khác nhau ({first} và {second})",
    "array elements must be literals (no nested arrays)":
        "phần tử của mảng phải là giá trị viết sẵn (không lồng mảng)",
    "the elements of an array must share one type":
        "các phần tử của một mảng phải cùng một kiểu",
    # --- writes (gis/edits.py, api/routers/edits.py) ---------------------------------
    "body: not valid JSON": "body: không phải JSON hợp lệ",
    "body: expected a JSON object": "body: cần một đối tượng JSON",
    'body: expected a GeoJSON Feature ("type": "Feature")':
        'body: cần một Feature GeoJSON ("type": "Feature")',
    "id: differs from the feature in the path": "id: khác với đối tượng trong đường dẫn",
    "properties: expected an object": "properties: cần một đối tượng JSON",
    "{name}: set by {roles} only": "{name}: chỉ {roles} được đặt giá trị này",
    "unknown properties: {names}; this layer has: {fields}":
        "thuộc tính không xác định: {names}; lớp dữ liệu này có: {fields}",
    "{name}: a value is required": "{name}: bắt buộc phải có giá trị",
    "{name}: expected {~expected}, got {given}": "{name}: cần {expected}, nhận được {given}",
    "{name}: longer than {maximum} characters": "{name}: dài hơn {maximum} ký tự",
    "{name}: cannot be written": "{name}: không được ghi",
    "geometry: {layer} has no geometry; send null":
        "geometry: lớp dữ liệu {layer} không có hình học; hãy gửi null",
    "geometry: a GeoJSON {kind} is required": "geometry: bắt buộc phải có một {kind} GeoJSON",
    "geometry: not a valid GeoJSON geometry": "geometry: không phải hình học GeoJSON hợp lệ",
    "geometry: expected a {wanted}, got a {given}":
        "geometry: cần một {wanted}, nhận được một {given}",
    "geometry: {layer} is 2D; send x and y only (no heights)":
        "geometry: lớp dữ liệu {layer} là 2D; chỉ gửi x và y (không có độ cao)",
    "geometry: more than {maximum} vertices": "geometry: hơn {maximum} đỉnh",
    "geometry: empty": "geometry: rỗng",
    "geometry: non-finite coordinate": "geometry: có tọa độ không phải số hữu hạn",
    "geometry: not valid ({reason})": "geometry: không hợp lệ ({reason})",
    "geometry: outside Vietnam in the given CRS (check Content-Crs and the axis "
    "order: CRS84 is longitude first, EPSG:4326 latitude first)":
        "geometry: nằm ngoài Việt Nam trong hệ tọa độ đã cho (hãy kiểm tra Content-Crs "
        "và thứ tự trục: CRS84 kinh độ trước, EPSG:4326 vĩ độ trước)",
    "ward_code: {code} is not the code of a ward in force (see "
    "/collections/admin_units/items?level=commune)":
        "ward_code: {code} không phải là mã của một phường/xã đang có hiệu lực (xem "
        "/collections/admin_units/items?level=commune)",
    "sign in to edit this layer": "hãy đăng nhập để sửa lớp dữ liệu này",
    "your roles may not {~verb} {layer}": "vai trò của bạn không được {verb} {layer}",
    "send the feature as {~media}": "hãy gửi đối tượng dưới dạng {media}",
    "ward_code: you may edit {layer} only in your wards ({~wards})":
        "ward_code: bạn chỉ được sửa lớp dữ liệu {layer} trong các phường/xã của mình "
        "({wards})",
    "the change is outside what you may edit in {layer}":
        "thay đổi này nằm ngoài phạm vi bạn được sửa trong lớp dữ liệu {layer}",
    "feature {id} of {layer} is outside what you may edit":
        "đối tượng {id} của lớp dữ liệu {layer} nằm ngoài phạm vi bạn được sửa",
    "other records refer to this feature of {layer}":
        "có bản ghi khác tham chiếu đến đối tượng này của lớp dữ liệu {layer}",
    "If-Match: feature {id} of {layer} was changed after that version; read it again "
    "and send its new ETag":
        "If-Match: đối tượng {id} của lớp dữ liệu {layer} đã bị thay đổi sau phiên bản "
        "đó; hãy đọc lại và gửi ETag mới của nó",
    "If-Match: not an ETag of a feature (send the ETag its GET answered, or *)":
        "If-Match: không phải ETag của một đối tượng (hãy gửi ETag mà yêu cầu GET đối "
        "tượng đã trả về, hoặc *)",
    "feature {id} of {layer}: another write changed what this one sets while it "
    "waited; read it again and resend (with If-Match to be sure)":
        "đối tượng {id} của lớp dữ liệu {layer}: một thao tác ghi khác đã thay đổi "
        "chính các giá trị này trong lúc thao tác này chờ; hãy đọc lại rồi gửi lại "
        "(kèm If-Match cho chắc chắn)",
    # "{where}" is "<column>: " or nothing
    "{where}not a value of its code list": "{where}không phải là giá trị trong danh mục mã",
    "{where}another feature already has this value":
        "{where}đã có đối tượng khác mang giá trị này",
    "{where}a value is required": "{where}bắt buộc phải có giá trị",
    "{where}the value is not accepted": "{where}giá trị không được chấp nhận",
    "{header}: sign in to send one": "{header}: hãy đăng nhập để gửi tiêu đề này",
    "send one Idempotency-Key": "chỉ gửi một Idempotency-Key",
    "Idempotency-Key: 1 to {maximum} characters": "Idempotency-Key: từ 1 đến {maximum} ký tự",
    "Idempotency-Key: printable ASCII characters only":
        "Idempotency-Key: chỉ gồm các ký tự ASCII in được",
    "a request with this Idempotency-Key is still running; retry later":
        "một yêu cầu với Idempotency-Key này vẫn đang chạy; hãy thử lại sau",
    "this Idempotency-Key was used with another request; use a new key for a new "
    "request":
        "Idempotency-Key này đã được dùng cho một yêu cầu khác; hãy dùng khóa mới cho "
        "yêu cầu mới",
    # --- parcel look-up (api/params.py, api/routers/parcel_lookup.py) ---------------
    "ward_code: expected the code of a ward or commune (up to 5 digits), got {raw}":
        "ward_code: cần mã của một phường/xã (tối đa 5 chữ số), nhận được {raw}",
    "national_parcel_id: expected 1 to 32 letters and digits, got {raw}":
        "national_parcel_id: cần từ 1 đến 32 chữ cái và chữ số, nhận được {raw}",
    "national_parcel_id: give it alone, without ward_code, sheet_no and parcel_no":
        "national_parcel_id: chỉ dùng riêng, không kèm ward_code, sheet_no và parcel_no",
    "{name}: a parcel is named by ward_code, sheet_no and parcel_no together, or by "
    "national_parcel_id; missing: {missing}":
        "{name}: thửa đất được xác định bằng đủ ward_code, sheet_no và parcel_no, hoặc "
        "bằng national_parcel_id; còn thiếu: {missing}",
    "{name}: expected an integer of {bits} bits, got {raw}":
        "{name}: cần một số nguyên {bits} bit, nhận được {raw}",
    "ward_code: {code} is not the code of a ward, or of a commune before 2025":
        "ward_code: {code} không phải mã của một phường/xã, hay của một xã trước 2025",
    # --- planning information (api/routers/planning.py) -----------------------------
    "body: expected a GeoJSON Polygon or MultiPolygon, or a Feature of one":
        "body: cần một Polygon hoặc MultiPolygon GeoJSON, hoặc một Feature chứa nó",
    "sign in to ask for the planning of a drawn polygon":
        "hãy đăng nhập để tra cứu quy hoạch của một đa giác tự vẽ",
    "send the polygon as {~media}": "hãy gửi đa giác dưới dạng {media}",
    "geometry: PostGIS could not overlay it on the planning zones":
        "geometry: PostGIS không chồng xếp được đa giác này lên các khu quy hoạch",
    # --- land dossier reports (api/routers/land_dossiers.py) -----------------------
    "ward_code: expected a 5-digit ward code, got {raw}":
        "ward_code: cần mã phường/xã gồm 5 chữ số, nhận được {raw}",
    "ward_code: you may read {layer} only in your wards ({~wards})":
        "ward_code: bạn chỉ được xem {layer} của các phường/xã mình phụ trách ({wards})",
    "{name}: expected an integer from {low} to {high}, got {raw}":
        "{name}: cần một số nguyên từ {low} đến {high}, nhận được {raw}",
    "{name}: expected a date (YYYY-MM-DD), got {raw}":
        "{name}: cần một ngày (YYYY-MM-DD), nhận được {raw}",
    "from: after to": "from: sau ngày to",
    "from, to: at most {days} days apart": "from, to: cách nhau tối đa {days} ngày",
    # --- split and merge of parcels (gis/sql/parcel_changes.py) ---------------------
    "{where}: expected a JSON object": "{where}: cần một đối tượng JSON",
    "{where}: unknown members {names}; allowed: {allowed}":
        "{where}: không có thành phần {names}; các thành phần được phép: {allowed}",
    "{where}: expected a parcel id (a positive integer)":
        "{where}: cần mã thửa đất (một số nguyên dương)",
    "decision.number: expected the decision's number, a string of 1 to {n} "
    "characters":
        "decision.number: cần số quyết định, một chuỗi từ 1 đến {n} ký tự",
    "decision.date: expected an ISO 8601 date (YYYY-MM-DD)":
        "decision.date: cần một ngày theo ISO 8601 (YYYY-MM-DD)",
    "children: expected 2 to {n} GeoJSON polygons or features":
        "children: cần từ 2 đến {n} đa giác hoặc Feature GeoJSON",
    "children[{index}]: expected a GeoJSON Polygon or MultiPolygon, or a Feature "
    "of one":
        "children[{index}]: cần một Polygon hoặc MultiPolygon GeoJSON, hoặc một "
        "Feature chứa nó",
    "children[{index}]: {~reason}": "children[{index}]: {reason}",
    "parcels: expected 2 to {n} distinct parcel ids":
        "parcels: cần từ 2 đến {n} mã thửa đất khác nhau",
    "parcel {id} was retired on {date}: only current parcels are split or merged "
    "(see its lineage)":
        "thửa đất {id} đã hết hiệu lực từ ngày {date}: chỉ tách, hợp các thửa đất "
        "đang có hiệu lực (xem nguồn gốc của thửa)",
    "decision.date: {date} is in the future": "decision.date: ngày {date} chưa tới",
    "decision.date: before parcel {id} came into force ({date})":
        "decision.date: trước ngày thửa đất {id} có hiệu lực ({date})",
    "children: they leave {uncovered} m² of the parcel uncovered, overlap each other "
    "by {overlap} m² and lie outside it by {outside} m² (tolerance {tolerance} m²)":
        "children: các thửa mới để hở {uncovered} m² của thửa gốc, chồng lên nhau "
        "{overlap} m² và nằm ngoài thửa gốc {outside} m² (dung sai {tolerance} m²)",
    "children[{index}]: an area of {area} m² (a parcel has at least 1 m²)":
        "children[{index}]: diện tích {area} m² (một thửa đất có ít nhất 1 m²)",
    "parcels: in several wards ({wards}); a merge stays in one ward":
        "parcels: thuộc nhiều phường/xã ({wards}); chỉ hợp các thửa trong cùng một "
        "phường/xã",
    "parcels: they overlap by {overlap} m² (tolerance {tolerance} m²)":
        "parcels: các thửa chồng lên nhau {overlap} m² (dung sai {tolerance} m²)",
    "parcels: they are not one piece of land ({parts} parts); merge parcels that "
    "share a boundary":
        "parcels: các thửa không liền thành một khối ({parts} phần); chỉ hợp các thửa "
        "có chung ranh giới",
    "{argument}: not a split or merge this server makes":
        "{argument}: không phải thao tác tách, hợp thửa mà máy chủ thực hiện",
    "children: PostGIS could not overlay them on the parcel":
        "children: PostGIS không chồng xếp được các thửa mới lên thửa gốc",
    # --- authentication and accounts (api/security.py, auth/, gis/principal.py) -----
    "credentials in the query string are refused: send them in the Authorization "
    "header":
        "không chấp nhận thông tin xác thực trong chuỗi truy vấn: hãy gửi trong tiêu "
        "đề Authorization",
    "the API key is not valid": "khóa API không hợp lệ",
    "bearer tokens are not accepted: no identity provider":
        "không chấp nhận bearer token: chưa cấu hình máy chủ định danh",
    "unsupported authorization scheme": "phương thức xác thực không được hỗ trợ",
    "malformed Basic credentials": "thông tin đăng nhập Basic sai cấu trúc",
    "user name or password is not valid": "tên người dùng hoặc mật khẩu không đúng",
    "too many failed sign-ins from this address; retry after {wait} s":
        "quá nhiều lần đăng nhập thất bại từ địa chỉ này; hãy thử lại sau {wait} giây",
    "too many failed sign-ins for this account from this address; retry after "
    "{wait} s":
        "quá nhiều lần đăng nhập thất bại vào tài khoản này từ địa chỉ này; hãy thử "
        "lại sau {wait} giây",
    "malformed token": "token sai cấu trúc",
    "token algorithm is not accepted": "không chấp nhận thuật toán của token",
    "token uses unsupported critical extensions":
        "token dùng phần mở rộng bắt buộc (crit) không được hỗ trợ",
    "token has no key id": "token không có mã khóa (kid)",
    "token key id is not known": "không biết mã khóa (kid) của token",
    "token algorithm does not match its key": "thuật toán của token không khớp với khóa",
    "token lacks the {claim} claim": "token thiếu trường {claim}",
    "token has expired": "token đã hết hạn",
    "token is not yet valid": "token chưa có hiệu lực",
    "token audience is not accepted": "không chấp nhận bên nhận (aud) của token",
    "token issuer is not accepted": "không chấp nhận bên phát hành (iss) của token",
    "token signature is invalid": "chữ ký của token không hợp lệ",
    "token issue time is invalid": "thời điểm phát hành (iat) của token không hợp lệ",
    "token is invalid": "token không hợp lệ",
    "token subject is invalid": "chủ thể (sub) của token không hợp lệ",
    "token ward_codes claim is malformed": "trường ward_codes của token sai cấu trúc",
    "identity provider keys are unavailable":
        "không lấy được khóa của máy chủ định danh",
    "jwks: expected a JSON object with a 'keys' list":
        "jwks: cần một đối tượng JSON có danh sách 'keys'",
    "JWT issuer must be configured": "phải cấu hình bên phát hành JWT (issuer)",
    "JWT audience must be configured": "phải cấu hình bên nhận JWT (audience)",
    "give exactly one of jwks_url and jwks":
        "hãy khai báo đúng một trong hai: jwks_url hoặc jwks",
    "JWT algorithms: only RS256 and ES256 are accepted":
        "thuật toán JWT: chỉ chấp nhận RS256 và ES256",
    "jwks_url must use https (keys fetched in the clear can be swapped)":
        "jwks_url phải dùng https (khóa tải qua kết nối không mã hóa có thể bị đánh "
        "tráo)",
    "roles: expected a list of role names": "roles: cần một danh sách tên vai trò",
    "unknown role(s) {names}; known roles: {known}":
        "vai trò không xác định: {names}; các vai trò hiện có: {known}",
    "ward_codes: expected a list of ward codes":
        "ward_codes: cần một danh sách mã phường/xã",
    "ward_codes: each ward code is the 5-digit GSO code (e.g. 22945)":
        "ward_codes: mỗi mã phường/xã là mã 5 chữ số của Tổng cục Thống kê (ví dụ "
        "22945)",
    "username: 2-64 characters of a-z, 0-9, '.', '_', '@', '-', starting with a "
    "letter or digit":
        "username: 2-64 ký tự gồm a-z, 0-9, '.', '_', '@', '-', bắt đầu bằng chữ cái "
        "hoặc chữ số",
    "password: at least {minimum} characters": "password: ít nhất {minimum} ký tự",
    "password: at most {maximum} characters": "password: tối đa {maximum} ký tự",
    "password: must not be only digits (phone numbers and dates are guessed first)":
        "password: không được chỉ gồm chữ số (số điện thoại và ngày tháng bị dò ra "
        "trước tiên)",
    "password: too common or too simple; choose a longer phrase":
        "password: quá phổ biến hoặc quá đơn giản; hãy chọn một cụm từ dài hơn",
    "password: must not contain the username":
        "password: không được chứa tên người dùng",
    "user {name} already exists": "người dùng {name} đã tồn tại",
    "no user {name}": "không có người dùng {name}",
    "name: 1-200 characters": "name: 1-200 ký tự",
    "could not allocate a unique key prefix": "không cấp được tiền tố khóa duy nhất",
    "no API key with prefix {prefix}": "không có khóa API với tiền tố {prefix}",
    "{name} must be at least 32 characters outside development; {~hint}":
        "{name} phải có ít nhất 32 ký tự ngoài môi trường phát triển; {hint}",
    "{name} looks like a default or placeholder value; {~hint}":
        "{name} có vẻ là giá trị mặc định hoặc giá trị giữ chỗ; {hint}",
    "the password in DOTHI_DB__URL is empty, short or a default one; outside "
    "development it must be at least 12 characters":
        "mật khẩu trong DOTHI_DB__URL rỗng, quá ngắn hoặc là mật khẩu mặc định; ngoài "
        "môi trường phát triển, mật khẩu phải có ít nhất 12 ký tự",
    # --- HTTP limits and refusals (api/limits.py, api/links.py, api/server.py) -------
    "too many requests from this address without valid credentials; retry after "
    "{wait} s or authenticate":
        "quá nhiều yêu cầu từ địa chỉ này mà không có thông tin xác thực hợp lệ; hãy "
        "thử lại sau {wait} giây hoặc đăng nhập",
    "Content-Length is not a single decimal number":
        "Content-Length không phải là một số thập phân duy nhất",
    "the request body is larger than {maximum} bytes":
        "nội dung yêu cầu lớn hơn {maximum} byte",
    "the Host header names no host this server serves; its operator lists them in "
    "DOTHI_API__TRUSTED_HOSTS or DOTHI_API__PUBLIC_URL":
        "tiêu đề Host không nêu máy chủ nào mà hệ thống này phục vụ; người vận hành "
        "khai báo các máy chủ đó trong DOTHI_API__TRUSTED_HOSTS hoặc "
        "DOTHI_API__PUBLIC_URL",
    "the server is answering {count} requests; retry after {wait} s":
        "máy chủ đang trả lời {count} yêu cầu; hãy thử lại sau {wait} giây",
    "the request target is over {maximum} bytes": "địa chỉ yêu cầu dài hơn {maximum} byte",
    "more than {maximum} header lines": "hơn {maximum} dòng tiêu đề",
    "the request head is over {maximum} bytes": "phần đầu yêu cầu lớn hơn {maximum} byte",
    "a header line is over {maximum} bytes": "một dòng tiêu đề dài hơn {maximum} byte",
    "the request line has no HTTP version": "dòng yêu cầu không có phiên bản HTTP",
    "HTTP/{version} is not served here; use HTTP/1.1":
        "máy chủ không phục vụ HTTP/{version}; hãy dùng HTTP/1.1",
    "the request is not valid HTTP/1.1": "yêu cầu không phải HTTP/1.1 hợp lệ",
    "the request head did not arrive within {seconds} s":
        "phần đầu yêu cầu không đến trong vòng {seconds} giây",
    "the request body did not arrive within {seconds} s":
        "nội dung yêu cầu không đến trong vòng {seconds} giây",
    # Starlette's own details (its HTTP reason phrases), and ours for other refusals
    "Not Found": "không tìm thấy",
    "Method Not Allowed": "phương thức không được phép",
    "request refused": "yêu cầu bị từ chối",
}

# English phrases the code puts into the {~...} holes of MESSAGES; matched there only,
# never as a whole detail (so that their loose shapes cannot catch one)
FRAGMENTS: dict[str, str] = {
    # CQL2 types (gis/cql2 KIND_NAMES), and how an operand is named with one
    "text": "văn bản",
    "an integer": "số nguyên",
    "a number": "số",
    "a boolean": "giá trị logic",
    "a date": "ngày",
    "a timestamp": "dấu thời gian",
    "a geometry": "hình học",
    "an array": "mảng",
    "{column} ({~kind})": "{column} ({kind})",
    "{~kind} literal {value}": "{kind} {value}",
    "{~kind} expression": "biểu thức {kind}",
    "property {name}": "thuộc tính {name}",
    "the literal {value}": "giá trị {value}",
    "longitude, latitude": "kinh độ, vĩ độ",
    "latitude, longitude": "vĩ độ, kinh độ",
    # what a property of a written feature expects (gis/edits.py)
    "true or false": "true hoặc false",
    "an integer of {bits} bits": "số nguyên {bits} bit",
    "a finite number": "số hữu hạn",
    "a number below {maximum}": "số nhỏ hơn {maximum}",
    "an ISO 8601 date-time": "thời điểm theo ISO 8601",
    "an ISO 8601 date (YYYY-MM-DD)": "ngày theo ISO 8601 (YYYY-MM-DD)",
    "a string": "chuỗi",
    "a string without NUL characters": "chuỗi không chứa ký tự NUL",
    # what a role may not do (api/routers/edits.py)
    "add features to": "thêm đối tượng vào lớp dữ liệu",
    "change features of": "sửa đối tượng của lớp dữ liệu",
    # lists and the rest
    "{first} or {second}": "{first} hoặc {second}",
    "none": "không có",
    "generate one with: {command}": "hãy tạo một giá trị bằng lệnh: {command}",
}
# fmt: on

_MAX_NESTING = 4  # {~...} inside {~...}: two levels are used; more is a mistake


@dataclass(frozen=True)
class Template:
    """One English template, ready to match: its literal pieces and its holes."""

    english: str
    vietnamese: str
    pieces: tuple[str, ...]  # one more than holes: before, between and after them
    holes: tuple[str, ...]
    translated: frozenset[str]  # the {~...} holes

    @classmethod
    def compile(cls, english: str, vietnamese: str) -> Template:
        pieces, holes = _parse(english)
        vi_pieces, vi_holes = _parse(vietnamese)
        del vi_pieces
        names = [h.lstrip("~") for h in holes]
        if not any(p.strip() for p in pieces):
            raise ValueError(f"{english!r}: a template needs some literal text")
        if any(not p for p in pieces[1:-1]):
            raise ValueError(f"{english!r}: two holes side by side cannot be split")
        if len(set(names)) != len(names) or set(names) != set(vi_holes):
            raise ValueError(f"{english!r}: the Vietnamese has other holes")
        return cls(
            english,
            vietnamese,
            tuple(pieces),
            tuple(names),
            frozenset(h[1:] for h in holes if h.startswith("~")),
        )

    @property
    def literal_length(self) -> int:
        return sum(len(p) for p in self.pieces)

    def splits(self, detail: str) -> list[tuple[str, ...]]:
        """The values of the holes when ``detail`` fits: between-pieces found
        leftmost first, then rightmost first (when that splits otherwise)."""
        first, last = self.pieces[0], self.pieces[-1]
        if not self.holes:
            return [()] if detail == first else []
        start, end = len(first), len(detail) - len(last)
        if end < start or not detail.startswith(first) or not detail.endswith(last):
            return []
        middle = self.pieces[1:-1]
        found: list[tuple[str, ...]] = []
        values: list[str] = []
        pos = start
        for piece in middle:
            at = detail.find(piece, pos, end)
            if at < 0:
                return []
            values.append(detail[pos:at])
            pos = at + len(piece)
        found.append((*values, detail[pos:end]))
        if middle:
            values, pos = [], end
            for piece in reversed(middle):
                at = detail.rfind(piece, start, pos)
                values.insert(0, detail[at + len(piece) : pos])
                pos = at
            right = (detail[start:pos], *values)
            if right != found[0]:
                found.append(right)
        return found

    def render(self, values: dict[str, str]) -> str:
        return self.vietnamese.format_map(values)


def _parse(template: str) -> tuple[list[str], list[str]]:
    """Literal pieces and hole names of ``template`` (``{{`` and ``}}`` escape)."""
    pieces, holes = [""], []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        pieces[-1] += literal
        if name is not None:
            if spec or conversion or not name.lstrip("~").isidentifier():
                raise ValueError(f"{template!r}: holes are {{name}} or {{~name}}")
            holes.append(name)
            pieces.append("")
    return pieces, holes


def _compiled(table: dict[str, str]) -> tuple[Template, ...]:
    templates = [Template.compile(en, vi) for en, vi in table.items()]
    # the most literal text first: a specific template before a looser one
    return tuple(sorted(templates, key=lambda t: -t.literal_length))


TEMPLATES = _compiled(MESSAGES)
PHRASES = _compiled({**FRAGMENTS, **MESSAGES})


def _translate(
    text: str, templates: tuple[Template, ...], depth: int, placeholder: str = ""
) -> tuple[str, bool, Template] | None:
    """Vietnamese for ``text``, whether every phrase in it was translated, and the
    template used; None when no template fits. A ``{~...}`` value made only of
    ``placeholder`` counts as translated (the test's stand-in for any value)."""
    partial: tuple[str, bool, Template] | None = None
    for template in templates:
        for values in template.splits(text):
            filled: dict[str, str] = {}
            complete = True
            for name, value in zip(template.holes, values, strict=True):
                as_is = name not in template.translated or not value
                if as_is or (placeholder and not value.strip(placeholder)):
                    pass  # a value, or the test's stand-in for any phrase
                elif depth >= _MAX_NESTING:
                    complete = False
                else:
                    inner = _translate(value, PHRASES, depth + 1, placeholder)
                    complete = complete and inner is not None and inner[1]
                    # a phrase translated in part keeps its own English words
                    value = value if inner is None else inner[0]
                filled[name] = value
            if complete:
                return template.render(filled), True, template
            if partial is None:
                partial = (template.render(filled), False, template)
    return partial


def localise(detail: str, lang: str) -> str:
    """``detail`` in ``lang``: the English as raised, or its Vietnamese by template
    (a detail no template fits stays English)."""
    if lang != "vi":
        return detail
    translated = _translate(detail, TEMPLATES, 0)
    return detail if translated is None else translated[0]


def template_of(message: str, placeholder: str, *, phrase: bool = False) -> str | None:
    """The English template that translates ``message`` whole, where runs of
    ``placeholder`` stand for any value (the test's messages, f-string holes
    replaced); ``phrase``: a phrase put into a ``{~...}`` hole rather than a whole
    detail. None when no template translates it."""
    found = _translate(message, PHRASES if phrase else TEMPLATES, 0, placeholder)
    return found[2].english if found is not None and found[1] else None
