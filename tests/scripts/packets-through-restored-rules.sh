# Real packets through rules written by `nfdoctor restore`: a client and a
# server namespace joined by veths to this one (the "host"), which holds
# Docker-like rules (DNAT of port 8080 to the server, MASQUERADE, FORWARD
# accepts, FORWARD policy DROP). Run inside `unshare -rn` with $NFDOCTOR and
# $BACKEND set; succeeds when the client fetches the server's page through
# the published port.
set -e
# router = this namespace; client and server = two more, joined by veths.
unshare -n sleep 60 & C=$!
unshare -n sleep 60 & S=$!
sleep 0.2
ip link add vc type veth peer name vc0 netns $C
ip link add vs type veth peer name vs0 netns $S
ip link set lo up; ip link set vc up; ip link set vs up
ip addr add 192.0.2.1/24 dev vc; ip addr add 172.30.0.1/24 dev vs
nsenter -t $C -n sh -c 'ip link set lo up; ip link set vc0 up; ip addr add 192.0.2.2/24 dev vc0; ip route add default via 192.0.2.1'
nsenter -t $S -n sh -c 'ip link set lo up; ip link set vs0 up; ip addr add 172.30.0.2/24 dev vs0; ip route add default via 172.30.0.1'
sysctl -qw net.ipv4.ip_forward=1
mkdir -p /tmp/www-$$; echo hello > /tmp/www-$$/index.html
nsenter -t $S -n busybox httpd -f -p 80 -h /tmp/www-$$ & H=$!
cat > /tmp/rules-$$ <<R
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.30.0.0/24 ! -o vs -j MASQUERADE
-A DOCKER ! -i vs -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.30.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -o vs -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -d 172.30.0.2/32 ! -i vs -o vs -p tcp -m tcp --dport 80 -j ACCEPT
-A FORWARD -i vs ! -o vs -j ACCEPT
COMMIT
R
"$NFDOCTOR" restore --backend $BACKEND /tmp/rules-$$
sleep 0.3
got=$(nsenter -t $C -n timeout 5 busybox wget -q -O - http://192.0.2.1:8080/ || true)
kill $C $S $H 2>/dev/null || true
rm -rf /tmp/www-$$ /tmp/rules-$$
echo "got=[$got]"
[ "$got" = hello ]
