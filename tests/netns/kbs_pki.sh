# tests/netns/kbs_pki.sh — test certificates for sealnet-kbs tests (source it).
#
#   mk_ca NAME CN               a P-256 CA: $T/NAME.key, $T/NAME.pem
#   mk_leaf NAME CN CA EXT...   a P-256 leaf signed by $T/CA, with the
#                               given x509 extensions
#   kbs_pki ADDR                ca, adminca, server (IP:ADDR) and admin
#
# $T: the test's directory (set before calling).
mk_ca() { # NAME CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.pem" -days 2 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
mk_leaf() { # NAME CN CA EXT...
	local n=$1 cn=$2 ca=$3
	shift 3
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$n.key" -out "$T/$n.csr" -subj "/CN=$cn" 2>/dev/null
	printf '%s\n' "$@" >"$T/$n.ext"
	openssl x509 -req -in "$T/$n.csr" -CA "$T/$ca.pem" -CAkey "$T/$ca.key" \
		-CAcreateserial -days 1 -extfile "$T/$n.ext" -out "$T/$n.pem" 2>/dev/null
}
kbs_pki() { # ADDR
	mk_ca ca "kbs test CA"
	mk_ca adminca "kbs admin CA"
	mk_leaf server kbs ca "subjectAltName=IP:$1" "extendedKeyUsage=serverAuth"
	mk_leaf admin alice adminca "extendedKeyUsage=clientAuth"
}
